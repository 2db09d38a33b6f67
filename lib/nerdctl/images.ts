import { ApiError } from "../errors.ts";
import { errorFromStderr } from "./errors.ts";
import type { Filters } from "../docker/filters.ts";
import type { ImageDeleteItem, ImageHistoryItem, ImageInspect, ImagePruneReport, ImageSummary } from "../docker/image-types.ts";
import { groupImages, imageHistory, imageInspect, imageSummaries, imageUsers, mustResolveImage, recordForNerdctl, RemovalPlanner, type DockerImage, type ImageListOptions } from "../docker/images.ts";
import { JSON_FORMAT, type Nerdctl } from "./client.ts";
import type { NerdctlHistoryLine, NerdctlNativeImage } from "./image-types.ts";
import { listAllContainers } from "./system.ts";
import { assertImageName, checkImageName, referenceString, shortId, tagReference } from "../reference.ts";

/*
 * Images, one nerdctl call for what a list needs whatever the number of images.
 *
 * `nerdctl images` prints nerdctl's image id (the index or manifest digest),
 * the record's date and rounded sizes; Docker's id is the config digest, its
 * date the config's, and its labels are in the config. `nerdctl image inspect
 * --mode native` prints all of it, per record, for the names given; each of
 * the sixteen hex digits, given as `sha256:<digit>`, is an id prefix that
 * nerdctl matches against every record's digest, so the sixteen together ask
 * for every record of the namespace in a single call.
 */
const EVERY_RECORD = [..."0123456789abcdef"].map((digit) => `sha256:${digit}`);

/** Every image record of the namespace, with its index, manifest, config and unpacked size. */
export async function inspectAllRecords(nerdctl: Nerdctl): Promise<NerdctlNativeImage[]> {
  const result = await nerdctl.runner.run(nerdctl.command(["image", "inspect", "--mode", "native", "--", ...EVERY_RECORD]));
  if (result.exitCode !== 0) throw errorFromStderr(result.stderr);
  // nerdctl gives the whole inspection 5 s and logs, rather than fails, what it could not read in time.
  if (/context deadline exceeded/.test(result.stderr)) {
    throw new ApiError("system", "nerdctl image inspect ran out of time reading the namespace's images");
  }
  const text = result.stdout.trim();
  return text === "" ? [] : (JSON.parse(text) as NerdctlNativeImage[]);
}

/** The namespace's images as Docker sees them (grouped by config digest). */
export async function dockerImages(nerdctl: Nerdctl): Promise<DockerImage[]> {
  return groupImages(await inspectAllRecords(nerdctl));
}

/** GET /images/json: one nerdctl call. */
export async function listImages(nerdctl: Nerdctl, options: ImageListOptions): Promise<ImageSummary[]> {
  return imageSummaries(await dockerImages(nerdctl), options);
}

/** GET /images/{name}/json: one nerdctl call (names, ids and digests are resolved here, as dockerd resolves them). */
export async function inspectImage(nerdctl: Nerdctl, name: string, options: { driver: string }): Promise<ImageInspect> {
  checkImageName(name);
  return imageInspect(mustResolveImage(await dockerImages(nerdctl), name).image, options);
}

/** Layer by layer, newest first, with sizes as the snapshotter counts them. */
export async function historyLines(nerdctl: Nerdctl, record: string): Promise<NerdctlHistoryLine[]> {
  const args = ["image", "history", "--no-trunc", "--human=false", "--format", JSON_FORMAT, "--", checkRecord(record)];
  return nerdctl.jsonLines<NerdctlHistoryLine>(args, { kind: "image", name: record });
}

/** GET /images/{name}/history: the images (to resolve the name), then nerdctl's history of one of its records. */
export async function getImageHistory(nerdctl: Nerdctl, name: string): Promise<ImageHistoryItem[]> {
  checkImageName(name);
  const images = await dockerImages(nerdctl);
  const { image } = mustResolveImage(images, name);
  const record = recordForNerdctl(image, { strict: false });
  const lines = record && (image.config.history?.length ?? 0) > 0 ? await historyLines(nerdctl, record) : undefined;
  return imageHistory(image, lines, images);
}

/**
 * POST /images/{name}/tag: `repo` and `tag` are checked before anything runs,
 * then the source is resolved and `nerdctl tag` run from one of its records.
 */
export async function tagImage(nerdctl: Nerdctl, name: string, repo: string, tag: string): Promise<void> {
  const target = referenceString(tagReference(repo, tag));
  checkImageName(name);
  assertImageName(target);
  const { image } = mustResolveImage(await dockerImages(nerdctl), name);
  const source = recordForNerdctl(image, { strict: true });
  if (!source) {
    // nerdctl tag reads the source as a reference, and this image's only records are the engine's own.
    throw new ApiError("system", `cannot tag ${shortId(image.id)}: nerdctl can tag an image only through a name it has, and this one has none`);
  }
  await nerdctl.output(["tag", "--", checkRecord(source), target], { kind: "image", name });
}

/**
 * Removes records as planned. `--force` because the plan already applied
 * dockerd's rules; nerdctl's own checks go by record name only (it refuses a
 * record a stopped container was made from, and for a running one it keeps the
 * content under a record named `:`, which the listing shows untagged, as
 * dockerd shows an image untagged by `rmi --force`).
 */
export async function removeRecords(nerdctl: Nerdctl, records: readonly string[]): Promise<void> {
  if (records.length === 0) return;
  await nerdctl.output(["rmi", "--force", "--", ...records.map(checkRecord)], { kind: "image" });
}

/** DELETE /images/{name}: images and containers (two calls side by side), dockerd's decision, then one `rmi`. */
export async function removeImage(nerdctl: Nerdctl, name: string, options: { force: boolean }): Promise<ImageDeleteItem[]> {
  checkImageName(name);
  const [images, containers] = await Promise.all([dockerImages(nerdctl), listAllContainers(nerdctl)]);
  const planner = new RemovalPlanner(images, imageUsers(images, containers));
  const items = planner.remove(name, options);
  await removeRecords(nerdctl, planner.records);
  return items;
}

/** POST /images/prune: images and containers, dockerd's choice, then one `rmi` for all of it. */
export async function pruneImages(nerdctl: Nerdctl, filters: Filters): Promise<ImagePruneReport> {
  const [images, containers] = await Promise.all([dockerImages(nerdctl), listAllContainers(nerdctl)]);
  const planner = new RemovalPlanner(images, imageUsers(images, containers));
  const report = planner.prune(filters);
  await removeRecords(nerdctl, planner.records);
  return report;
}

/**
 * Record names come from nerdctl itself, not from the client, and go after
 * `--`; some are not references at all (`:`, `import@sha256:…`), so this only
 * makes sure none could be read as a flag.
 */
function checkRecord(name: string): string {
  if (name === "" || name.startsWith("-") || /[\s\0]/.test(name)) throw new ApiError("system", `unexpected image record name ${JSON.stringify(name)}`);
  return name;
}
