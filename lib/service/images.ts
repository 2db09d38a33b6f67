/**
 * Images: the namespace's records read in one nerdctl call whatever their
 * number, Docker's model made of them, and nerdctl run for what changes.
 */
import { ApiError } from "../errors.ts";
import { toImageHistory, toImageInspect } from "../docker/image-inspect.ts";
import { imageSummaries, type ImageListOptions } from "../docker/image-list.ts";
import { groupImages, mustResolveImage, recordForNerdctl, type DockerImage } from "../docker/image-model.ts";
import { checkPruneFilters, imageUsers, RemovalPlanner } from "../docker/image-removal.ts";
import type { Filters } from "../docker/filters.ts";
import type { ImageDeleteItem, ImageHistoryItem, ImageInspect, ImagePruneReport, ImageSummary } from "../docker/image-types.ts";
import { NerdctlCrash } from "../nerdctl/errors.ts";
import { historyLines, inspectAllRecords, removeRecords, tagRecord } from "../nerdctl/images.ts";
import { listAllContainers } from "../nerdctl/system.ts";
import { assertImageName, checkImageName, referenceString, shortId, tagReference } from "../reference.ts";
import type { Scope } from "./scope.ts";

/** The namespace's images as Docker sees them (grouped by config digest): one nerdctl call. */
export async function namespaceImages(scope: Scope): Promise<DockerImage[]> {
  return groupImages((await scope.state.imageRecords.current()) ?? (await inspectAllRecords(scope.nerdctl)));
}

/** GET /images/json. */
export async function listImages(scope: Scope, options: ImageListOptions): Promise<ImageSummary[]> {
  return imageSummaries(await namespaceImages(scope), options);
}

/** GET /images/{name}/json: names, ids and digests resolved as dockerd resolves them. */
export async function inspectImage(scope: Scope, input: { name: string }): Promise<ImageInspect> {
  checkImageName(input.name);
  const driver = scope.facts().env.CONTAINERD_SNAPSHOTTER || "overlayfs";
  return toImageInspect(mustResolveImage(await namespaceImages(scope), input.name).image, { driver });
}

/**
 * GET /images/{name}/history: the entries are the image's config's; the
 * layer sizes nerdctl's history of one of its records, or estimated when
 * nerdctl cannot give them (it crashes on an image whose history has no dates).
 */
export async function imageHistory(scope: Scope, input: { name: string }): Promise<ImageHistoryItem[]> {
  checkImageName(input.name);
  const images = await namespaceImages(scope);
  const { image } = mustResolveImage(images, input.name);
  const record = recordForNerdctl(image, { strict: false, named: input.name });
  const lines =
    record && (image.config.history?.length ?? 0) > 0
      ? await historyLines(scope.nerdctl, record).catch((error: unknown) => {
          if (error instanceof NerdctlCrash) return undefined;
          throw error;
        })
      : undefined;
  return toImageHistory(image, lines, images);
}

/**
 * POST /images/{name}/tag: `repo` and `tag` are checked before anything runs,
 * then the source is resolved and `nerdctl tag` run from one of its records.
 */
export async function tagImage(scope: Scope, input: { name: string; repo: string; tag: string }): Promise<void> {
  const target = referenceString(tagReference(input.repo, input.tag));
  checkImageName(input.name);
  assertImageName(target);
  const { image } = mustResolveImage(await namespaceImages(scope), input.name);
  const source = recordForNerdctl(image, { strict: true, named: input.name });
  if (!source) {
    // nerdctl tag reads the source as a reference, and this image's only records are the engine's own.
    throw new ApiError("system", `cannot tag ${shortId(image.id)}: nerdctl can tag an image only through a name it has, and this one has none`);
  }
  await scope.state.changing("images", () => tagRecord(scope.nerdctl, source, target, input.name));
}


/** Images and containers (two calls side by side), and dockerd's rules over them. */
async function removalPlanner(scope: Scope): Promise<RemovalPlanner> {
  const [images, containers] = await Promise.all([namespaceImages(scope), listAllContainers(scope.nerdctl)]);
  return new RemovalPlanner(images, imageUsers(images, containers));
}

/** DELETE /images/{name}: dockerd's decision, then one `rmi`. */
export async function removeImage(scope: Scope, input: { name: string; force: boolean }): Promise<ImageDeleteItem[]> {
  checkImageName(input.name);
  const planner = await removalPlanner(scope);
  const items = planner.remove(input.name, { force: input.force });
  await scope.state.changing("images", () => removeRecords(scope.nerdctl, planner.records));
  return items;
}

/** POST /images/prune: dockerd's choice, then one `rmi` for all of it. */
export async function pruneImages(scope: Scope, input: { filters: Filters }): Promise<ImagePruneReport> {
  checkPruneFilters(input.filters);
  const planner = await removalPlanner(scope);
  const report = planner.prune(input.filters);
  await scope.state.changing("images", () => removeRecords(scope.nerdctl, planner.records));
  return report;
}
