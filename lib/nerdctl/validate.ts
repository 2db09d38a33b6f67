import { badParameter, describeValue } from "../errors.ts";

/*
 * Every user-supplied value that reaches nerdctl's argv passes one of these
 * first, so no value can be read as a flag (`--privileged`, `-v/:/h`), a path
 * (`../x`), or smuggle control characters. The grammars are Docker's own.
 */

/** Docker's rule for container names (a leading slash is how the API shows them). */
const OBJECT_NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_NAME_LENGTH = 255;

/** A container, volume or network name or id. */
export function assertObjectName(kind: "container" | "volume" | "network", value: string): string {
  if (value.length <= MAX_NAME_LENGTH && OBJECT_NAME_RE.test(value)) return value;
  throw badParameter(`invalid ${kind} name or id: ${describeValue(value)}`);
}

/** containerd's rule for namespace names (labels separated by `.`, `_` or `-`). */
const NAMESPACE_RE = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

export function assertNamespace(value: string): string {
  if (value.length <= 76 && NAMESPACE_RE.test(value)) return value;
  throw badParameter(`invalid containerd namespace: ${describeValue(value)}`);
}
