import { badParameter } from "../errors.ts";

/*
 * Every user-supplied value that reaches nerdctl's argv passes one of these
 * first, so no value can be read as a flag (`--privileged`, `-v/:/h`), a path
 * (`../x`), or smuggle control characters. The grammars are Docker's own.
 */

const ALPHANUMERIC = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";

/** Docker's reference grammar: groups name, tag, digest. */
export const REFERENCE_RE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
export const TAG_RE = new RegExp(`^${TAG}$`);
const IMAGE_ID_RE = /^(?:sha256:)?[0-9a-f]{1,64}$/;
/** Docker's rule for container names (a leading slash is how the API shows them). */
const OBJECT_NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_NAME_LENGTH = 255;

/** An image reference (`name[:tag][@digest]`), as the Docker reference grammar defines it. */
export function isImageReference(value: string): boolean {
  const match = REFERENCE_RE.exec(value);
  return match !== null && match[1]!.length <= MAX_NAME_LENGTH;
}

/** An image reference or an image id (full, short, or `sha256:`-prefixed). */
export function assertImageName(value: string): string {
  if (isImageReference(value) || IMAGE_ID_RE.test(value)) return value;
  throw badParameter(`invalid reference format: ${describe(value)}`);
}

export function assertTag(value: string): string {
  if (TAG_RE.test(value)) return value;
  throw badParameter(`invalid tag format: ${describe(value)}`);
}

/** A container, volume or network name or id. */
export function assertObjectName(kind: "container" | "volume" | "network", value: string): string {
  if (value.length <= MAX_NAME_LENGTH && OBJECT_NAME_RE.test(value)) return value;
  throw badParameter(`invalid ${kind} name or id: ${describe(value)}`);
}

/** Quotes a rejected value safely for an error message, shortened when long. */
function describe(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return JSON.stringify(shown);
}

/** containerd's rule for namespace names (labels separated by `.`, `_` or `-`). */
const NAMESPACE_RE = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

export function assertNamespace(value: string): string {
  if (value.length <= 76 && NAMESPACE_RE.test(value)) return value;
  throw badParameter(`invalid containerd namespace: ${describe(value)}`);
}
