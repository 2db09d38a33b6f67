import type { DockerImage } from "./image-model.ts";

/*
 * nerdctl reports an image's unpacked size, not its layers'; Docker's
 * SharedSize and a prune's SpaceReclaimed are sums over layers. Where another
 * image ends exactly at a layer, the size up to that layer is known; between
 * known points, the size is spread by the layers' blob sizes.
 */

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
