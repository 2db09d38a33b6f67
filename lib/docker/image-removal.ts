/**
 * DELETE /images/{name} and POST /images/prune, planned the way dockerd
 * decides (daemon/images/image_delete.go, image_prune.go), then carried out
 * by nerdctl.
 */
import type { NerdctlContainerLine } from "../nerdctl/types.ts";
import { ApiError, badParameter, conflict, isKind } from "../errors.ts";
import { parseFilterTime, type Filters } from "./filters.ts";
import { noSuchImage, referencesOf, resolveImage, type DockerImage, type ImageRef } from "./image-model.ts";
import { layerSizes } from "./image-sizes.ts";
import type { ImageDeleteItem, ImagePruneReport } from "./image-types.ts";
import { parseAnyReference, referenceName, referenceString, shortId, tagNameOnly } from "../reference.ts";

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
