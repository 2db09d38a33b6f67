import { compareVersions } from "../docker/api-version.ts";
import { badParameter, type ApiError } from "../errors.ts";

/** The API versions nerdctld serves, as dockerd 24 does. */
export const API_VERSION = { min: "1.24", max: "1.43" } as const;

export interface VersionedPath {
  /** The version the client asked for, or the daemon's when the path has no prefix. */
  version: string;
  /** The path without its /vX.Y prefix. */
  path: string;
}

/** Splits `/v1.41/images/json` into version and path; an unversioned path means the daemon's version. */
export function splitVersion(pathname: string): VersionedPath {
  const match = /^\/v(\d+\.\d+)(\/.*)?$/.exec(pathname);
  if (!match) return { version: API_VERSION.max, path: pathname };
  return { version: match[1]!, path: match[2] ?? "/" };
}

/** dockerd's refusal, word for word, for a version outside what it serves. */
export function checkVersion(version: string): ApiError | undefined {
  if (compareVersions(version, API_VERSION.min) < 0) {
    return badParameter(
      `client version ${version} is too old. Minimum supported API version is ${API_VERSION.min}, please upgrade your client to a newer version`,
    );
  }
  if (compareVersions(version, API_VERSION.max) > 0) {
    return badParameter(`client version ${version} is too new. Maximum supported API version is ${API_VERSION.max}`);
  }
  return undefined;
}
