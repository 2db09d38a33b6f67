/*
 * Errors carry a kind, not a status code: any layer raises them, and the HTTP
 * edge alone (lib/server/error-response.ts) turns a kind into Docker's status.
 */

export type ErrorKind =
  | "invalid-parameter"
  | "unauthorized"
  | "forbidden"
  | "not-found"
  | "not-allowed"
  | "conflict"
  | "not-modified"
  | "too-large"
  | "too-many-requests"
  | "timeout"
  | "system"
  | "not-implemented"
  | "upstream"
  | "unavailable";

/** An error a client sees as Docker's `{"message": …}` with the status of its kind. */
export class ApiError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export const badParameter = (message: string) => new ApiError("invalid-parameter", message);
export const forbidden = (message: string) => new ApiError("forbidden", message);
export const notFound = (message: string) => new ApiError("not-found", message);
export const conflict = (message: string) => new ApiError("conflict", message);
export const notModified = (message: string) => new ApiError("not-modified", message);
/** A request body over what the endpoint reads. */
export const tooLarge = (message: string) => new ApiError("too-large", message);
/** A client that stopped sending a request it had begun. */
export const timedOut = (message: string) => new ApiError("timeout", message);
export const systemError = (message: string) => new ApiError("system", message);
export const notImplemented = (message: string) => new ApiError("not-implemented", message);
/** A remote (a registry) answered with something that cannot be used. */
export const upstreamError = (message: string) => new ApiError("upstream", message);
export const unavailable = (message: string) => new ApiError("unavailable", message);

/** Quotes a rejected value safely for an error message, shortened when long. */
export function describeValue(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

export const isKind = (error: unknown, ...kinds: ErrorKind[]): error is ApiError =>
  error instanceof ApiError && kinds.includes(error.kind);

/** What a failed engine call was about, for Docker's own wording. */
export interface ErrorSubject {
  kind?: "image" | "container" | "volume" | "network" | "exec";
  /** The name or id exactly as the client sent it. */
  name?: string;
}

/** Docker's 404 wording, which clients (compose, Testcontainers) match on. */
export function noSuch(kind: NonNullable<ErrorSubject["kind"]>, name: string): ApiError {
  switch (kind) {
    case "image":
      return notFound(`No such image: ${name}`);
    case "container":
      return notFound(`No such container: ${name}`);
    case "volume":
      return notFound(`get ${name}: no such volume`);
    case "network":
      return notFound(`network ${name} not found`);
    case "exec":
      return notFound(`No such exec instance: ${name}`);
  }
}
