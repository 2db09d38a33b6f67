import { createHash } from "node:crypto";
import type { NerdctlImageConfig, NerdctlNativeImage } from "../nerdctl/image-types.ts";
import { notFound, type ApiError } from "../errors.ts";
import { familiarString, type ImageReference, parseAnyReference, parseNormalizedNamed, referenceString, tagNameOnly } from "../reference.ts";

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

/**
 * A record nerdctl can name the image by (`tag`, `history` resolve names their
 * own way): the one the client named when it can (`busybox` is
 * docker.io/library/busybox:latest), so that another name of the same image,
 * which another request may be removing, is never used in its place.
 */
export function recordForNerdctl(image: DockerImage, options: { strict: boolean; named?: string }): string | undefined {
  const usable = (record: ImageRecord) =>
    (record.ref !== undefined && referenceString(record.ref) === record.name) || /^sha256:[0-9a-f]{64}$/.test(record.name);
  const asked = options.named === undefined ? undefined : parseAnyReference(options.named);
  const named = asked?.kind === "digest" || asked === undefined ? undefined : referenceString(tagNameOnly(asked.ref));
  const preferred =
    image.records.find((record) => record.name === named && usable(record)) ??
    image.records.find((record) => record.ref?.tag && usable(record)) ??
    image.records.find(usable);
  if (preferred || options.strict) return preferred?.name;
  return image.records[0]?.name;
}
