import type { ImageOperationStart } from "../docker/operation-events.ts";
import type { Scope } from "./scope.ts";

/*
 * What changes a namespace's images tells its state before the client hears
 * the result, so that the client's next read shows the change.
 */

/** Runs a change of images: whatever came of it, the next read sees them as they are. */
export async function changingImages<T>(scope: Scope, change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } finally {
    scope.state.imagesChanged();
  }
}

/** Announces an image-making operation (see NamespaceEvents.imageOperation); its end is a change of images. */
export function imageOperation(scope: Scope, operation: ImageOperationStart): () => void {
  const ended = scope.events.imageOperation(operation);
  return () => {
    ended();
    scope.state.imagesChanged();
  };
}
