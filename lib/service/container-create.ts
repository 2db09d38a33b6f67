import { checkContainerCreate, checkImagePlatform, nameConflict, planContainerCreate } from "../docker/container-create.ts";
import type { ContainerCreateResponse } from "../docker/container-create-types.ts";
import { mustResolveImage, recordForNerdctl, type DockerImage } from "../docker/image-model.ts";
import { ApiError, noSuch } from "../errors.ts";
import { createArgs, createContainer, NameInUse, type ContainerCreateOptions } from "../nerdctl/container-create.ts";
import { inspectNetworksNative } from "../nerdctl/networks.ts";
import { listVolumeNames, removeVolumes } from "../nerdctl/volumes.ts";
import { shortId } from "../reference.ts";
import { namespaceImages } from "./images.ts";
import type { Scope } from "./scope.ts";

export interface ContainerCreateInput {
  body: unknown;
  name?: string;
  platform?: string;
}

/** `linux/amd64`, `linux/arm/v7`: the platform an image's config says it is for. */
function imagePlatform(image: DockerImage): string {
  const { os = "linux", architecture = "", variant } = image.config;
  return [os, architecture, ...(variant ? [variant] : [])].join("/");
}

/** The network's name as nerdctl knows it (a client may name it by id); dockerd's 404 when there is none. */
async function networkName(scope: Scope, ref: string): Promise<string> {
  const [network] = await inspectNetworksNative(scope.nerdctl, [ref]).catch((error: unknown) => {
    if (error instanceof ApiError && error.kind === "not-found") throw noSuch("network", ref);
    throw error;
  });
  if (!network) throw noSuch("network", ref);
  return network.CNI.name;
}

/** Whether the create may make volumes (named or anonymous) that a failure would leave behind. */
function makesVolumes(options: ContainerCreateOptions, image: DockerImage): boolean {
  return Boolean(options.repeated.volume?.length || options.repeated.mount?.length || Object.keys(image.config.config?.Volumes ?? {}).length);
}

/**
 * nerdctl makes the volumes a container mounts before it can fail (a taken
 * name, a port in use): those it made for this request are removed, as
 * dockerd leaves nothing of a failed create.
 */
async function removeMadeVolumes(scope: Scope, before: Set<string>, named: string[]): Promise<void> {
  const now = await listVolumeNames(scope.nerdctl).catch(() => []);
  const made = now.filter((name) => !before.has(name) && (named.includes(name) || /^[0-9a-f]{64}$/.test(name)));
  // One that some other container took meanwhile is refused, and kept.
  await Promise.all(made.map((name) => removeVolumes(scope.nerdctl, [name]).catch(() => undefined)));
}

/** POST /containers/create: the body checked, the image and network looked up, then one `nerdctl create` that never pulls. */
export async function containerCreate(scope: Scope, input: ContainerCreateInput): Promise<ContainerCreateResponse> {
  const checked = checkContainerCreate(input.body, { name: input.name, platform: input.platform });
  // Every value is checked before the engine is asked anything: bad input leaves no trace, not even a lookup.
  createArgs(planContainerCreate(checked, { image: { platform: "", exposedPorts: [], labels: {} }, imageRecord: checked.image }).options);
  const [images, network] = await Promise.all([
    namespaceImages(scope),
    checked.network.custom === undefined ? undefined : networkName(scope, checked.network.custom),
  ]);
  const { image } = mustResolveImage(images, checked.image);
  if (checked.platform) checkImagePlatform(checked.image, checked.platform, imagePlatform(image));
  const imageRecord = recordForNerdctl(image, { strict: true, named: checked.image });
  if (!imageRecord) throw new ApiError("system", `cannot create a container from image ${shortId(image.id)}: it has no name nerdctl can use`);
  const exposedPorts = Object.keys(image.config.config?.ExposedPorts ?? {});
  const labels = image.config.config?.Labels ?? {};
  const plan = planContainerCreate(checked, { image: { platform: imagePlatform(image), exposedPorts, labels }, imageRecord, network });
  const before = makesVolumes(plan.options, image) ? new Set(await listVolumeNames(scope.nerdctl)) : undefined;
  try {
    const id = await createContainer(scope.nerdctl, plan.options);
    scope.state.containerCreated(id);
    return { Id: id, Warnings: plan.warnings };
  } catch (error) {
    if (before) await removeMadeVolumes(scope, before, plan.volumes);
    if (error instanceof NameInUse) throw nameConflict(error.containerName, error.holder);
    throw error;
  }
}
