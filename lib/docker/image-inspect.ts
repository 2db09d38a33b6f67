/** GET /images/{name}/json and /images/{name}/history over the image model. */
import type { NerdctlHistoryLine, NerdctlImageConfig } from "../nerdctl/image-types.ts";
import { referencesOf, type DockerImage } from "./image-model.ts";
import { layerSizes } from "./image-sizes.ts";
import type { ImageContainerConfig, ImageHistoryItem, ImageInspect } from "./image-types.ts";

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
export function toImageInspect(image: DockerImage, options: { driver: string }): ImageInspect {
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

/**
 * The image's history, newest first, as dockerd gives it: the image id and
 * tags on the newest entry, `<missing>` below it. Layer sizes come from
 * nerdctl's history of the same image (snapshot usage) when it has one line
 * per entry, else from the size estimate.
 */
export function toImageHistory(image: DockerImage, lines: readonly NerdctlHistoryLine[] | undefined, all: readonly DockerImage[]): ImageHistoryItem[] {
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
