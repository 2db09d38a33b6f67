import { ApiError, badParameter, conflict, describeValue, notFound } from "../errors.ts";
import type { ContainerCreateOptions } from "../nerdctl/container-create.ts";
import { checkImageName } from "../reference.ts";
import { CreateFlags, text } from "./container-create-builder.ts";
import { processArgs, translateConfig } from "./container-create-config.ts";
import { checkFields } from "./container-create-fields.ts";
import { translateHostConfig } from "./container-create-host.ts";
import { translateMounts } from "./container-create-mounts.ts";
import { chooseNetwork, translateNetwork, type NetworkChoice } from "./container-create-network.ts";
import { recordLabels } from "./container-create-record.ts";
import type { ContainerCreateRequest, ImageDefaults } from "./container-create-types.ts";

/*
 * POST /containers/create, Docker's side: the body checked as dockerd checks
 * it (with its messages), then translated into nerdctl create's options. The
 * field-by-field decisions are in container-create-fields.ts.
 */

export interface CreateQuery {
  name?: string;
  platform?: string;
}

/** A create request that passed every check that needs no engine. */
export interface CheckedCreate {
  request: ContainerCreateRequest;
  /** Without the leading slash a client may send. */
  name?: string;
  /** `os/arch[/variant]`, as the client sent it. */
  platform?: string;
  /** Config.Image as the client gave it. */
  image: string;
  network: NetworkChoice;
  warnings: string[];
}

const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const PLATFORM = /^[a-z0-9_]+(?:\/[a-z0-9_]+(?:\/[a-z0-9_.]+)?)?$/;

function checkName(name: string | undefined): string | undefined {
  if (name === undefined || name === "") return undefined;
  if (!CONTAINER_NAME.test(name) || name.length > 255) {
    throw badParameter(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name.replace(/^\//, "");
}

function checkPlatform(platform: string | undefined): string | undefined {
  if (platform === undefined || platform === "") return undefined;
  if (!PLATFORM.test(platform)) throw badParameter(`${describeValue(platform)}: unknown operating system or architecture: invalid argument`);
  return platform;
}

export function checkContainerCreate(body: unknown, query: CreateQuery): CheckedCreate {
  if (body === undefined) throw badParameter("invalid JSON: got EOF while reading request body");
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw badParameter("Config cannot be empty in order to create a container");
  const request = body as ContainerCreateRequest;
  for (const key of ["HostConfig", "NetworkingConfig", "Healthcheck"] as const) {
    const value = request[key];
    if (value !== undefined && value !== null && (typeof value !== "object" || Array.isArray(value))) throw badParameter(`${key} must be an object`);
  }
  const name = checkName(query.name);
  const platform = checkPlatform(query.platform);
  const image = text("Image", request.Image);
  if (image === "") throw badParameter("Config.Image is required: containers are made from images here");
  checkImageName(image);
  const warnings = checkFields(request);
  return { request, name, platform, image, network: chooseNetwork(request), warnings };
}

/** What the engine told about the request's image and network, for the translation. */
export interface CreateContext {
  image: ImageDefaults;
  /** The name nerdctl knows the image by. */
  imageRecord: string;
  /** The custom network's name, looked up. */
  network?: string;
}

export interface CreatePlan {
  options: ContainerCreateOptions;
  warnings: string[];
  /** Named volumes the container mounts (nerdctl makes those that do not exist). */
  volumes: string[];
}

export function planContainerCreate(checked: CheckedCreate, context: CreateContext): CreatePlan {
  const { request } = checked;
  const flags = new CreateFlags(context.image);
  translateConfig(request, flags);
  translateHostConfig(request.HostConfig ?? {}, flags);
  const volumes = translateMounts(request, flags);
  translateNetwork(request, checked.network, flags, context.network, checked.name);
  if (checked.name) flags.set("name", checked.name);
  if (checked.platform) flags.set("platform", checked.platform);
  flags.repeat("label", recordLabels(request));
  const { command, entrypoint } = processArgs(request);
  return { options: flags.options(context.imageRecord, command, entrypoint), warnings: [...checked.warnings, ...flags.warnings], volumes };
}

/** dockerd's 409 for a taken name (the name with its slash, as dockerd keeps names). */
export function nameConflict(name: string, holder: string): ApiError {
  return conflict(
    `Conflict. The container name "/${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
  );
}

const ARCH_ALIASES: Record<string, string> = { x86_64: "amd64", "x86-64": "amd64", aarch64: "arm64", armhf: "arm", armel: "arm" };

function normalPlatform(platform: string): { os: string; arch: string; variant?: string } {
  const [first = "", second, variant] = platform.split("/");
  // A lone word is an architecture when it is not an operating system (containerd's platforms.Parse).
  const [os, arch] = second === undefined ? (["linux", "windows", "darwin", "freebsd"].includes(first) ? [first, ""] : ["linux", first]) : [first, second];
  return { os, arch: ARCH_ALIASES[arch] ?? arch, variant };
}

/** dockerd's 404 when the image is there for another platform than the one asked for (the docker CLI then pulls). */
export function checkImagePlatform(reference: string, wanted: string, actual: string): void {
  const want = normalPlatform(wanted);
  const have = normalPlatform(actual);
  const matches = want.os === have.os && (want.arch === "" || want.arch === have.arch) && (!want.variant || !have.variant || want.variant === have.variant);
  if (!matches) {
    const shown = [want.os, want.arch || have.arch, ...(want.variant ? [want.variant] : [])].join("/");
    throw notFound(`image with reference ${reference} was found but does not match the specified platform: wanted ${shown}, actual: ${actual}`);
  }
}
