import type { ImageOperationStart } from "../docker/operation-events.ts";
import type { Scope } from "./scope.ts";

/** Announces an image-making operation (see NamespaceEvents.imageOperation); its end is a change of images. */
export function imageOperation(scope: Scope, operation: ImageOperationStart): () => void {
  const ended = scope.events.imageOperation(operation);
  return () => {
    ended();
    scope.state.imagesChanged();
  };
}
