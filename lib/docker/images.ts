import { createHash } from "node:crypto";
import type { NerdctlHistoryLine, NerdctlImageConfig, NerdctlNativeImage } from "../nerdctl/image-types.ts";
import type { NerdctlContainerLine } from "../nerdctl/types.ts";
import { compareVersions } from "./api-version.ts";
import { badParameter, conflict, ApiError, isKind, notFound } from "../errors.ts";
import { parseFilterTime, type Filters } from "./filters.ts";
import type {
  ImageContainerConfig,
  ImageDeleteItem,
  ImageHistoryItem,
  ImageInspect,
  ImagePruneReport,
  ImageSummary,
} from "./image-types.ts";
import { checkImageName, familiarName, familiarString, type ImageReference, parseAnyReference, parseNormalizedNamed, referenceName, referenceString, shortId, tagNameOnly } from "../reference.ts";

/*
 * Docker's image model over containerd's.
 *
 * containerd keeps image *records*: a name pointing at an index or manifest.
 * Docker shows *images*: one per config digest (the image ID), with every tag
 * and digest reference pointing at it. So the records nerdctl reports are
 * grouped by config digest; each tagged record is a RepoTag, and gives a
 * RepoDigest `repo@<digest of what the record points at>` (what dockerd's
 * containerd image store shows too: a containerd image always has a content
 * digest, even when it was loaded rather than pulled).
 *
 * Some records are the engine's bookkeeping, not names a user gave, and are
 * never shown as references (the image they point at still is, untagged when
 * nothing else names it):
 * - `import@sha256:<index digest>`: nerdctl 2.3 `load` names the archive's
 *   index this way beside the image's own name(s). dockerd shows nothing of
 *   the sort after `docker load`; shown, it would be an extra `import <none>`
 *   row in `docker images` for every load. Removing the image's last tag
 *   removes it too, as `docker rmi` removes the whole image.
 * - `:`: nerdctl `rmi --force` renames an image a running container uses to
 *   this, to keep its content; dockerd shows such an image untagged too.
 * - `sha256:<config digest>`: the CRI plugin's id record (namespace k8s.io).
 */

// ---------------------------------------------------------------------------------------------
// References, as github.com/distribution/reference parses and normalises them.

/** dockerd's ErrImageDoesNotExist: `No such image: busybox:latest`. */
export function noSuchImage(value: string): ApiError {
  let shown = value;
  try {
    const any = parseAnyReference(value);
    shown = any.kind === "digest" ? any.digest : familiarString(tagNameOnly(any.ref));
  } catch {
    // an unparsable name is reported as given
  }
  return notFound(`No such image: ${shown}`);
}

// ---------------------------------------------------------------------------------------------
// Go's path.Match, for the `reference` filter (reference.FamiliarMatch).

/** Compiles a path.Match pattern; an invalid one is a 400 (dockerd answers 500 "syntax error in pattern"). */
export function compileGlob(pattern: string): RegExp {
  const bad = () => badParameter(`invalid filter 'reference=${pattern}': syntax error in pattern`);
  const chars = [...pattern];
  let source = "^";
  // Under the "u" flag only syntax characters may be escaped, and "-" only inside a class.
  const escape = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  const escapeInClass = (c: string) => c.replace(/[\\\]\[^-]/g, "\\$&");
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "\\") {
      i += 1;
      if (i >= chars.length) throw bad();
      source += escape(chars[i]!);
    } else if (c === "[") {
      i += 1;
      let negate = false;
      if (chars[i] === "^") {
        negate = true;
        i += 1;
      }
      let ranges = "";
      let count = 0;
      for (;;) {
        if (i >= chars.length) throw bad();
        if (chars[i] === "]" && count > 0) break;
        const escaped = (): string => {
          const ch = chars[i];
          if (ch === undefined || ch === "-" || ch === "]") throw bad();
          if (ch === "\\") {
            i += 1;
            if (i >= chars.length) throw bad();
          }
          const value = chars[i]!;
          i += 1;
          if (i >= chars.length) throw bad();
          return value;
        };
        const lo = escaped();
        if (chars[i] === "-") {
          i += 1;
          const hi = escaped();
          ranges += `${escapeInClass(lo)}-${escapeInClass(hi)}`;
        } else {
          ranges += escapeInClass(lo);
        }
        count += 1;
      }
      source += `[${negate ? "^" : ""}${ranges}]`;
    } else {
      source += escape(c);
    }
  }
  try {
    return new RegExp(`${source}$`, "u");
  } catch {
    // A range Go accepts but a RegExp does not (lo > hi) matches nothing in Go.
    return /(?!)/;
  }
}

function familiarMatch(patterns: readonly RegExp[], ref: ImageReference): boolean {
  return patterns.some((pattern) => pattern.test(familiarString(ref)) || pattern.test(familiarName(ref)));
}

// ---------------------------------------------------------------------------------------------
// The model: images grouped from records.

/** One containerd image record. */
export interface ImageRecord {
  name: string;
  /** Digest of the index or manifest the record points at (nerdctl's "IMAGE ID"). */
  target: string;
  createdAt: string;
  updatedAt: string;
  /** The record's name as a Docker reference; undefined for the engine's bookkeeping records. */
  ref?: ImageReference;
}

export interface DockerImage {
  /** `sha256:<config digest>`: Docker's image id. */
  id: string;
  records: ImageRecord[];
  config: NerdctlImageConfig;
  /** Unpacked size, as the snapshotter counts it. */
  size: number;
  /** Milliseconds since the epoch (0 when the config has no date). */
  created: number;
  createdText: string;
  diffIds: string[];
  chainIds: string[];
  /** Sizes of the layer blobs (compressed) from the manifest, by layer. */
  blobSizes: number[];
  labels: Record<string, string>;
  parent: string;
}

/** A reference as Docker lists it: a tag, or a digest reference. */
export interface ImageRef {
  kind: "tag" | "digest";
  ref: ImageReference;
  /** `docker.io/library/busybox:latest`: Docker orders references by this. */
  full: string;
  familiar: string;
  /** The records that make this reference exist; removing them all removes it. */
  records: string[];
  /**
   * A digest reference that only exists because a tag points at that digest
   * (no record of its own): it comes and goes with its tags, and `rmi` does
   * not report it separately, as dockerd reports only references it stores.
   */
  derived: boolean;
}

const BOOKKEEPING_RECORD = /^(?:import@sha256:[0-9a-f]{64}|:|sha256:[0-9a-f]{64})$/;

/** A record's name as a reference, or undefined when it is the engine's own (see above). */
export function recordReference(name: string): ImageReference | undefined {
  if (BOOKKEEPING_RECORD.test(name)) return undefined;
  try {
    return parseNormalizedNamed(name);
  } catch {
    return undefined;
  }
}

/** containerd's chain ids (identity.ChainIDs) of a list of layer diff ids. */
export function chainIds(diffIds: readonly string[]): string[] {
  const chain: string[] = [];
  for (const diffId of diffIds) {
    const previous = chain.at(-1);
    chain.push(previous ? `sha256:${createHash("sha256").update(`${previous} ${diffId}`).digest("hex")}` : diffId);
  }
  return chain;
}

/** References of an image made of these records, in Docker's order (by full name). */
export function referencesOf(records: readonly ImageRecord[]): ImageRef[] {
  const refs = new Map<string, ImageRef>();
  const add = (kind: ImageRef["kind"], ref: ImageReference, record: string, derived = false) => {
    const full = referenceString(ref);
    const found = refs.get(full);
    if (found) {
      if (!found.records.includes(record)) found.records.push(record);
      found.derived &&= derived;
      return;
    }
    refs.set(full, { kind, ref, full, familiar: familiarString(ref), records: [record], derived });
  };
  for (const record of records) {
    const ref = record.ref;
    if (!ref) continue;
    const name = { domain: ref.domain, path: ref.path };
    if (ref.tag) {
      add("tag", { ...name, tag: ref.tag }, record.name);
      add("digest", { ...name, digest: ref.digest ?? record.target }, record.name, ref.digest === undefined);
    } else if (ref.digest) {
      add("digest", { ...name, digest: ref.digest }, record.name);
    }
  }
  return [...refs.values()].sort((a, b) => (a.full < b.full ? -1 : a.full > b.full ? 1 : 0));
}

/** Groups records by config digest (Docker's image id); a record nerdctl could not read a config for is left out. */
export function groupImages(natives: readonly NerdctlNativeImage[]): DockerImage[] {
  const byId = new Map<string, DockerImage>();
  for (const native of natives) {
    const id = native.ImageConfigDesc?.digest;
    const config = native.ImageConfig;
    if (!id || !config) continue;
    const record: ImageRecord = {
      name: native.Image.Name,
      target: native.Image.Target.digest,
      createdAt: native.Image.CreatedAt,
      updatedAt: native.Image.UpdatedAt,
      ref: recordReference(native.Image.Name),
    };
    const found = byId.get(id);
    if (found) {
      found.records.push(record);
      found.size = Math.max(found.size, native.size);
      continue;
    }
    const diffIds = config.rootfs?.diff_ids ?? [];
    const created = config.created ? Date.parse(config.created) : Number.NaN;
    byId.set(id, {
      id,
      records: [record],
      config,
      size: native.size,
      created: Number.isNaN(created) ? 0 : created,
      createdText: config.created ?? "",
      diffIds,
      chainIds: chainIds(diffIds),
      blobSizes: (native.Manifest?.layers ?? []).map((layer) => layer.size),
      labels: { ...config.config?.Labels },
      parent: native.Image.Labels?.["org.mobyproject.image.parent"] ?? "",
    });
  }
  for (const image of byId.values()) image.records.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...byId.values()];
}

export interface Resolved {
  image: DockerImage;
  /** Named by id (or id prefix) rather than by a reference: `docker rmi` then treats it as the image itself. */
  byId: boolean;
}

/**
 * Finds the image a client names, as dockerd's GetImage does: a full id, a
 * tag or digest reference (`busybox` means `busybox:latest`), then an id
 * prefix. Beyond dockerd, nerdctl's own image ids (the digest of what a
 * record points at, or a prefix of it) are accepted when nothing else matched.
 */
export function resolveImage(images: readonly DockerImage[], value: string): Resolved | undefined {
  const any = parseAnyReference(value);
  if (any.kind === "digest") {
    const image = images.find((candidate) => candidate.id === any.digest) ?? images.find((candidate) => candidate.records.some((record) => record.target === any.digest));
    return image && { image, byId: true };
  }
  const wanted = referenceString(tagNameOnly(any.ref));
  for (const image of images) {
    if (referencesOf(image.records).some((ref) => ref.full === wanted)) return { image, byId: false };
  }
  const prefix = /^(?:sha256:)?([0-9a-f]{1,64})$/.exec(value)?.[1];
  if (!prefix) return undefined;
  const byConfig = images.filter((image) => image.id.slice(7).startsWith(prefix));
  if (byConfig.length === 1) return { image: byConfig[0]!, byId: true };
  if (byConfig.length > 1) return undefined;
  const byTarget = images.filter((image) => image.records.some((record) => record.target.slice(7).startsWith(prefix)));
  return byTarget.length === 1 ? { image: byTarget[0]!, byId: true } : undefined;
}

/** Like resolveImage, but a miss is dockerd's 404. */
export function mustResolveImage(images: readonly DockerImage[], value: string): Resolved {
  const found = resolveImage(images, value);
  if (!found) throw noSuchImage(value);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Sizes. nerdctl reports an image's unpacked size, not its layers'; Docker's
// SharedSize and a prune's SpaceReclaimed are sums over layers. Where another
// image ends exactly at a layer, the size up to that layer is known; between
// known points, the size is spread by the layers' blob sizes.

/** Estimated unpacked size of each layer of each image, by image id. */
export function layerSizes(images: readonly DockerImage[]): Map<string, number[]> {
  const known = new Map<string, number>();
  for (const image of images) {
    const top = image.chainIds.at(-1);
    if (top !== undefined) known.set(top, Math.max(known.get(top) ?? 0, image.size));
  }
  const result = new Map<string, number[]>();
  for (const image of images) {
    const count = image.chainIds.length;
    const cumulative: (number | undefined)[] = Array.from({ length: count + 1 }, (_, k) =>
      k === 0 ? 0 : k === count ? image.size : known.get(image.chainIds[k - 1]!),
    );
    const sizes: number[] = [];
    let from = 0;
    for (let to = 1; to <= count; to++) {
      const end = cumulative[to];
      if (end === undefined) continue;
      const start = cumulative[from]!;
      const total = Math.max(0, end - start);
      const weights = Array.from({ length: to - from }, (_, i) => image.blobSizes[from + i] ?? 0);
      const weightSum = weights.reduce((sum, weight) => sum + weight, 0);
      let given = 0;
      weights.forEach((weight, i) => {
        const last = i === weights.length - 1;
        const share = last ? total - given : Math.round(weightSum > 0 ? (total * weight) / weightSum : total / weights.length);
        sizes.push(share);
        given += share;
      });
      from = to;
    }
    result.set(image.id, sizes);
  }
  return result;
}

/** Docker's SharedSize: the size of the layers this image shares with at least one other image. */
export function sharedSizes(images: readonly DockerImage[]): Map<string, number> {
  const users = new Map<string, number>();
  for (const image of images) for (const chain of new Set(image.chainIds)) users.set(chain, (users.get(chain) ?? 0) + 1);
  const sizes = layerSizes(images);
  return new Map(
    images.map((image) => [
      image.id,
      image.chainIds.reduce((sum, chain, k) => sum + ((users.get(chain) ?? 0) > 1 ? (sizes.get(image.id)?.[k] ?? 0) : 0), 0),
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// GET /images/json

export const IMAGE_LIST_FILTERS = ["dangling", "label", "before", "since", "reference"] as const;

export interface ImageListOptions {
  all: boolean;
  filters: Filters;
  sharedSize: boolean;
  apiVersion: string;
}

/** Checks filter values that must be well-formed before anything runs. */
export function checkListFilters(filters: Filters): void {
  filters.bool("dangling");
  for (const key of ["before", "since"]) for (const value of filters.values(key)) checkImageName(value);
  for (const pattern of filters.values("reference")) compileGlob(pattern);
}

/** dockerd's Images(): filters, references, untagged images, newest first. */
export function imageSummaries(images: readonly DockerImage[], options: ImageListOptions): ImageSummary[] {
  const { filters } = options;
  const danglingOnly = filters.bool("dangling") ?? false;
  const patterns = filters.values("reference").map(compileGlob);
  let before: number | undefined;
  for (const value of filters.values("before")) {
    const created = mustResolveImage(images, value).image.created;
    if (before === undefined || created < before) before = created;
  }
  let since: number | undefined;
  for (const value of filters.values("since")) {
    const created = mustResolveImage(images, value).image.created;
    if (since === undefined || created > since) since = created;
  }
  const shared = options.sharedSize ? sharedSizes(images) : undefined;
  const legacyNone = compareVersions(options.apiVersion, "1.43") < 0;

  const summaries: ImageSummary[] = [];
  for (const image of images) {
    if (before !== undefined && !(image.created < before)) continue;
    if (since !== undefined && !(image.created > since)) continue;
    if (filters.contains("label") && !filters.matchLabels(image.labels)) continue;
    const repoTags: string[] = [];
    const repoDigests: string[] = [];
    for (const ref of referencesOf(image.records)) {
      if (filters.contains("reference") && !familiarMatch(patterns, ref.ref)) continue;
      (ref.kind === "tag" ? repoTags : repoDigests).push(ref.familiar);
    }
    if (repoTags.length === 0 && repoDigests.length === 0) {
      // Untagged: no image here has children, so `all` shows nothing more than the default.
      if (filters.contains("dangling") && !danglingOnly) continue;
      if (filters.contains("reference")) continue;
      if (legacyNone) {
        repoTags.push("<none>:<none>");
        repoDigests.push("<none>@<none>");
      }
    } else if (danglingOnly && repoTags.length > 0) {
      continue;
    }
    summaries.push({
      Containers: -1,
      Created: Math.floor(image.created / 1000),
      Id: image.id,
      Labels: image.labels,
      ParentId: image.parent,
      RepoDigests: repoDigests,
      RepoTags: repoTags,
      SharedSize: shared?.get(image.id) ?? -1,
      Size: image.size,
      VirtualSize: image.size,
    });
  }
  return summaries.sort((a, b) => b.Created - a.Created || (a.Id < b.Id ? -1 : a.Id > b.Id ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// GET /images/{name}/json

function containerConfig(config: NerdctlImageConfig["config"] = {}): ImageContainerConfig {
  const present = <T>(value: T | null | undefined): value is T =>
    value !== undefined && value !== null && !(typeof value === "object" && Object.keys(value).length === 0);
  return {
    Hostname: "",
    Domainname: "",
    User: config.User ?? "",
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ...(present(config.ExposedPorts) ? { ExposedPorts: config.ExposedPorts } : {}),
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    ...(config.Env ? { Env: config.Env } : {}),
    ...(config.Cmd ? { Cmd: config.Cmd } : {}),
    ...(config.ArgsEscaped ? { ArgsEscaped: true } : {}),
    Image: "",
    ...(present(config.Volumes) ? { Volumes: config.Volumes } : {}),
    WorkingDir: config.WorkingDir ?? "",
    ...(config.Entrypoint ? { Entrypoint: config.Entrypoint } : {}),
    OnBuild: null,
    ...(present(config.Labels) ? { Labels: config.Labels } : {}),
    ...(config.StopSignal ? { StopSignal: config.StopSignal } : {}),
  };
}

/** Go's zero time, which dockerd prints for an image never tagged here. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * The inspect document. Fields only the classic graph driver has are empty:
 * Container/ContainerConfig (images are not committed from a container here),
 * DockerVersion, GraphDriver.Data (snapshots are the snapshotter's business).
 * Unset lists are left out rather than sent as null where the API does not
 * allow null.
 */
export function imageInspect(image: DockerImage, options: { driver: string }): ImageInspect {
  const refs = referencesOf(image.records);
  const config = image.config;
  const history = config.history ?? [];
  const tagged = image.records.filter((record) => record.ref?.tag).map((record) => record.updatedAt);
  const lastTagged = tagged.sort().at(-1);
  return {
    Id: image.id,
    RepoTags: refs.filter((ref) => ref.kind === "tag").map((ref) => ref.familiar),
    RepoDigests: refs.filter((ref) => ref.kind === "digest").map((ref) => ref.familiar),
    Parent: image.parent,
    Comment: history.at(-1)?.comment ?? "",
    Created: image.createdText || ZERO_TIME,
    Container: "",
    ContainerConfig: containerConfig({}),
    DockerVersion: "",
    Author: config.author ?? "",
    Config: containerConfig(config.config),
    Architecture: config.architecture ?? "",
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os ?? "",
    ...(config["os.version"] ? { OsVersion: config["os.version"] } : {}),
    Size: image.size,
    VirtualSize: image.size,
    GraphDriver: { Name: options.driver, Data: {} },
    RootFS: { Type: config.rootfs?.type ?? "layers", ...(image.diffIds.length ? { Layers: image.diffIds } : {}) },
    Metadata: { LastTagTime: lastTagged ?? ZERO_TIME },
  };
}

// ---------------------------------------------------------------------------------------------
// GET /images/{name}/history

/**
 * The image's history, newest first, as dockerd gives it: the image id and
 * tags on the newest entry, `<missing>` below it. Layer sizes come from
 * nerdctl's history of the same image (snapshot usage) when it has one line
 * per entry, else from the size estimate.
 */
export function imageHistory(image: DockerImage, lines: readonly NerdctlHistoryLine[] | undefined, all: readonly DockerImage[]): ImageHistoryItem[] {
  const entries = image.config.history ?? [];
  const estimated = layerSizes(all).get(image.id) ?? [];
  const fromNerdctl = lines && lines.length === entries.length ? [...lines].reverse().map((line) => Number(line.Size)) : undefined;
  let layer = 0;
  const items = entries.map((entry, index): ImageHistoryItem => {
    let size = 0;
    if (!entry.empty_layer) {
      size = fromNerdctl?.[index] ?? estimated[layer] ?? 0;
      layer += 1;
    }
    const created = entry.created ? Date.parse(entry.created) : Number.NaN;
    return {
      Comment: entry.comment ?? "",
      Created: Number.isNaN(created) ? 0 : Math.floor(created / 1000),
      CreatedBy: entry.created_by ?? "",
      Id: "<missing>",
      Size: Number.isFinite(size) ? size : 0,
      Tags: [],
    };
  });
  items.reverse();
  if (items[0]) {
    items[0].Id = image.id;
    items[0].Tags = referencesOf(image.records).filter((ref) => ref.kind === "tag").map((ref) => ref.familiar);
  }
  return items;
}

/** A record nerdctl can name the image by (`tag`, `history` resolve names their own way). */
export function recordForNerdctl(image: DockerImage, options: { strict: boolean }): string | undefined {
  const usable = (record: ImageRecord) =>
    (record.ref !== undefined && referenceString(record.ref) === record.name) || /^sha256:[0-9a-f]{64}$/.test(record.name);
  const preferred = image.records.find((record) => record.ref?.tag && usable(record)) ?? image.records.find(usable);
  if (preferred || options.strict) return preferred?.name;
  return image.records[0]?.name;
}

// ---------------------------------------------------------------------------------------------
// DELETE /images/{name} and POST /images/prune, planned the way dockerd decides
// (daemon/images/image_delete.go, image_prune.go), then carried out by nerdctl.

/** A container as far as image removal cares. */
export interface ImageUser {
  id: string;
  running: boolean;
  /** The image's id, when the image the container was made from is still known. */
  imageId?: string;
}

/** Which image each container uses, read from `nerdctl ps` (which names the image it was made from). */
export function imageUsers(images: readonly DockerImage[], containers: readonly NerdctlContainerLine[]): ImageUser[] {
  return containers.map((container) => {
    const byRecord = images.find((image) => image.records.some((record) => record.name === container.Image));
    let imageId = byRecord?.id;
    if (!imageId && container.Image) {
      try {
        imageId = resolveImage(images, container.Image)?.image.id;
      } catch {
        imageId = undefined;
      }
    }
    // Paused containers are running to dockerd.
    const running = /^(up|restarting)|paused/i.test(container.Status);
    return { id: container.ID, running, imageId };
  });
}

const CONFLICT_DEPENDENT_CHILD = 1;
const CONFLICT_RUNNING_CONTAINER = 2;
const CONFLICT_ACTIVE_REFERENCE = 4;
const CONFLICT_STOPPED_CONTAINER = 8;
const CONFLICT_HARD = CONFLICT_DEPENDENT_CHILD | CONFLICT_RUNNING_CONTAINER;
const CONFLICT_SOFT = CONFLICT_ACTIVE_REFERENCE | CONFLICT_STOPPED_CONTAINER;

class DeleteConflict extends ApiError {
  constructor(
    imageId: string,
    readonly hard: boolean,
    readonly used: boolean,
    detail: string,
  ) {
    super("conflict", `conflict: unable to delete ${shortId(imageId)} (${hard ? "cannot be forced" : "must be forced"}) - ${detail}`);
  }
}

/** dockerd's isSingleReference: at most one tag, and digest references only of that tag's repository. */
function isSingleReference(refs: readonly ImageRef[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  let single: ImageRef | undefined;
  const canonical = new Set<string>();
  for (const ref of refs) {
    if (ref.kind === "digest") canonical.add(referenceName(ref.ref));
    else if (!single) single = ref;
    else return false;
  }
  single ??= refs[0]!;
  return canonical.size === 1 && canonical.has(referenceName(single.ref));
}

function isImageIdPrefix(imageId: string, value: string): boolean {
  return imageId.startsWith(value) || imageId.slice(imageId.indexOf(":") + 1).startsWith(value);
}

/**
 * The images of a namespace while removals are planned: records disappear as
 * dockerd would remove references, images when their last record goes.
 */
export class RemovalPlanner {
  readonly #images: DockerImage[];
  readonly #users: readonly ImageUser[];
  readonly #removed = new Set<string>();
  readonly #deletedImages = new Set<string>();
  readonly #deletedLayers = new Set<string>();
  readonly #sizes: Map<string, number[]>;
  readonly #order: string[] = [];
  #reclaimed = 0;

  constructor(images: readonly DockerImage[], users: readonly ImageUser[]) {
    this.#images = [...images];
    this.#users = users;
    this.#sizes = layerSizes(images);
  }

  /** The images still there, with the records still there. */
  get images(): DockerImage[] {
    return this.#images
      .filter((image) => !this.#deletedImages.has(image.id))
      .map((image) => ({ ...image, records: image.records.filter((record) => !this.#removed.has(record.name)) }));
  }

  /** Record names to remove, in order, for everything planned so far. */
  get records(): string[] {
    return [...this.#order];
  }

  /** Bytes the removed layers held (estimated, see layerSizes). */
  get reclaimed(): number {
    return this.#reclaimed;
  }

  #refs(imageId: string): ImageRef[] {
    const image = this.#images.find((candidate) => candidate.id === imageId)!;
    return referencesOf(image.records.filter((record) => !this.#removed.has(record.name)));
  }

  #removeRecords(names: readonly string[]): void {
    for (const name of names) {
      if (this.#removed.has(name)) continue;
      this.#removed.add(name);
      this.#order.push(name);
    }
  }

  #conflict(imageId: string, mask: number): DeleteConflict | undefined {
    const users = this.#users.filter((user) => user.imageId === imageId);
    const running = users.find((user) => user.running);
    if (mask & CONFLICT_RUNNING_CONTAINER && running) {
      return new DeleteConflict(imageId, true, true, `image is being used by running container ${shortId(running.id)}`);
    }
    if (mask & CONFLICT_ACTIVE_REFERENCE && this.#refs(imageId).length > 0) {
      return new DeleteConflict(imageId, false, false, "image is referenced in multiple repositories");
    }
    const stopped = users.find((user) => !user.running);
    if (mask & CONFLICT_STOPPED_CONTAINER && stopped) {
      return new DeleteConflict(imageId, false, true, `image is being used by stopped container ${shortId(stopped.id)}`);
    }
    return undefined;
  }

  /** dockerd's ImageDelete for one name or id; throws dockerd's 404/409 when it would. */
  remove(value: string, options: { force: boolean }): ImageDeleteItem[] {
    const { force } = options;
    const resolved = resolveImage(this.images, value);
    if (!resolved) throw noSuchImage(value);
    const imageId = resolved.image.id;
    const items: ImageDeleteItem[] = [];
    let repoRefs = this.#refs(imageId);
    let removedRepositoryRef = false;

    if (!resolved.byId && !isImageIdPrefix(imageId, value)) {
      const user = this.#users.find((candidate) => candidate.imageId === imageId);
      if (!force && isSingleReference(repoRefs) && user) {
        throw conflict(
          `conflict: unable to remove repository reference "${value}" (must force) - container ${shortId(user.id)} is using its referenced image ${shortId(imageId)}`,
        );
      }
      const any = parseAnyReference(value);
      const named = any.kind === "named" ? tagNameOnly(any.ref) : undefined;
      const wanted = named ? referenceString(named) : "";
      const target = repoRefs.find((ref) => ref.full === wanted);
      if (!named || !target) throw noSuchImage(value);
      items.push(...this.#untag(imageId, repoRefs, target));
      repoRefs = this.#refs(imageId);
      if (repoRefs.length > 0) return items;
      removedRepositoryRef = true;
    } else if (isSingleReference(repoRefs)) {
      const found = this.#conflict(imageId, CONFLICT_HARD | (force ? 0 : CONFLICT_SOFT & ~CONFLICT_ACTIVE_REFERENCE));
      if (found) throw found;
      for (const ref of repoRefs) {
        this.#removeRecords(ref.records);
        if (!ref.derived) items.push({ Untagged: ref.familiar });
      }
    }

    const found = this.#conflict(imageId, CONFLICT_HARD | (force ? 0 : CONFLICT_SOFT));
    if (found) {
      const dangling = this.#refs(imageId).length === 0;
      // Having removed the name asked for, dockerd keeps an image still in use, untagged, without an error.
      if (removedRepositoryRef && (!dangling || found.used)) return items;
      throw found;
    }
    for (const ref of this.#refs(imageId)) {
      this.#removeRecords(ref.records);
      if (!ref.derived) items.push({ Untagged: ref.familiar });
    }
    items.push(...this.#delete(imageId));
    return items;
  }

  /** Removes one reference and, when no tag of its repository is left, that repository's digest references. */
  #untag(imageId: string, before: readonly ImageRef[], target: ImageRef): ImageDeleteItem[] {
    const items: ImageDeleteItem[] = [{ Untagged: target.familiar }];
    this.#removeRecords(target.records);
    const repository = referenceName(target.ref);
    let after = this.#refs(imageId);
    if (target.kind === "tag" && !after.some((ref) => ref.kind === "tag" && referenceName(ref.ref) === repository)) {
      for (const ref of after) {
        if (ref.kind === "digest" && referenceName(ref.ref) === repository) this.#removeRecords(ref.records);
      }
      after = this.#refs(imageId);
    }
    // Other references that went with it: digest records of the repository, or the tags a digest stood for.
    for (const ref of before) {
      if (ref.full === target.full || ref.derived) continue;
      if (!after.some((left) => left.full === ref.full)) items.push({ Untagged: ref.familiar });
    }
    return items;
  }

  #delete(imageId: string): ImageDeleteItem[] {
    const image = this.#images.find((candidate) => candidate.id === imageId)!;
    this.#removeRecords(image.records.map((record) => record.name));
    this.#deletedImages.add(imageId);
    const items: ImageDeleteItem[] = [{ Deleted: imageId }];
    // A layer is gone when no image left uses it, and no container holds it (its own layer sits on top).
    const inUse = new Set<string>();
    const heldImages = new Set(this.#users.map((user) => user.imageId));
    for (const other of this.#images) {
      if (!this.#deletedImages.has(other.id) || heldImages.has(other.id)) for (const chain of other.chainIds) inUse.add(chain);
    }
    const sizes = this.#sizes.get(imageId) ?? [];
    for (let k = image.chainIds.length - 1; k >= 0; k--) {
      const chain = image.chainIds[k]!;
      if (inUse.has(chain) || this.#deletedLayers.has(chain)) continue;
      this.#deletedLayers.add(chain);
      this.#reclaimed += sizes[k] ?? 0;
      items.push({ Deleted: chain });
    }
    return items;
  }

  /**
   * dockerd's ImagesPrune: untagged images (or, with `dangling=false`, every
   * image) no container uses, filtered by `until` and labels. Conflicts skip
   * an image silently, as in dockerd.
   */
  prune(filters: Filters, now: number = Date.now()): ImagePruneReport {
    const danglingOnly = filters.bool("dangling") ?? true;
    const until = pruneUntil(filters, now);
    const deleted: ImageDeleteItem[] = [];
    for (const image of this.images) {
      if (until !== undefined && image.created > until) continue;
      if (!filters.matchLabels(image.labels)) continue;
      if (filters.contains("label!") && filters.values("label!").length > 0 && filters.matchLabels(image.labels, "label!")) continue;
      const refs = referencesOf(image.records);
      const attempts =
        refs.length === 0
          ? [image.id.slice(image.id.indexOf(":") + 1)]
          : !danglingOnly || !refs.some((ref) => ref.kind === "tag")
            ? refs.filter((ref) => !ref.derived).map((ref) => ref.full)
            : [];
      for (const attempt of attempts) {
        try {
          deleted.push(...this.remove(attempt, { force: false }));
        } catch (error) {
          if (isKind(error, "conflict", "not-found")) continue;
          throw error;
        }
      }
    }
    return { ImagesDeleted: deleted, SpaceReclaimed: this.#reclaimed };
  }
}

export const IMAGE_PRUNE_FILTERS = ["dangling", "label", "label!", "until"] as const;

/** Checks a prune's filters before anything runs. */
export function checkPruneFilters(filters: Filters): void {
  filters.bool("dangling");
  pruneUntil(filters, Date.now());
}

function pruneUntil(filters: Filters, now: number): number | undefined {
  const values = filters.values("until");
  if (values.length > 1) throw badParameter("more than one until filter specified");
  return values[0] === undefined ? undefined : parseFilterTime(values[0], now);
}
