/** GET /images/json: dockerd's Images() over the image model. */
import { compareVersions } from "./api-version.ts";
import type { Filters } from "./filters.ts";
import { mustResolveImage, referencesOf, type DockerImage } from "./image-model.ts";
import { sharedSizes } from "./image-sizes.ts";
import type { ImageSummary } from "./image-types.ts";
import { compileGlob } from "./path-match.ts";
import { checkImageName, familiarName, familiarString, type ImageReference } from "../reference.ts";

function familiarMatch(patterns: readonly RegExp[], ref: ImageReference): boolean {
  return patterns.some((pattern) => pattern.test(familiarString(ref)) || pattern.test(familiarName(ref)));
}

export const IMAGE_LIST_FILTERS = ["dangling", "label", "before", "since", "reference"] as const;

export interface ImageListOptions {
  all: boolean;
  filters: Filters;
  sharedSize: boolean;
  apiVersion: string;
}

/** GET /images/json's query parameters, `filters` already read. */
export interface ImageListQuery {
  filters: Filters;
  /** Before API 1.41: a glob on the repository name, i.e. a `reference` filter. */
  filter?: string | undefined;
  all: boolean;
  /** `shared-size`, which arrived in API 1.42. */
  sharedSize: boolean;
  apiVersion: string;
}

/** What a list query asks for, its filter values checked before anything runs. */
export function imageListOptions(query: ImageListQuery): ImageListOptions {
  const legacy = query.filter ?? "";
  const filters = legacy !== "" && compareVersions(query.apiVersion, "1.41") < 0 ? query.filters.with("reference", legacy) : query.filters;
  filters.bool("dangling");
  for (const key of ["before", "since"]) for (const value of filters.values(key)) checkImageName(value);
  for (const pattern of filters.values("reference")) compileGlob(pattern);
  return { all: query.all, filters, sharedSize: compareVersions(query.apiVersion, "1.42") >= 0 && query.sharedSize, apiVersion: query.apiVersion };
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
