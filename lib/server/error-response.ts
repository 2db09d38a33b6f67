import { HTTPError } from "h3";
import { ApiError, type ErrorKind } from "../errors.ts";

/** The one table from error kinds to Docker's status codes (moby's httpstatus). */
const STATUS_BY_KIND: Record<ErrorKind, number> = {
  "invalid-parameter": 400,
  unauthorized: 401,
  forbidden: 403,
  "not-found": 404,
  "not-allowed": 405,
  conflict: 409,
  "not-modified": 304,
  "too-large": 413,
  "too-many-requests": 429,
  timeout: 408,
  system: 500,
  "not-implemented": 501,
  upstream: 502,
  unavailable: 503,
};

export function statusOfKind(kind: ErrorKind): number {
  return STATUS_BY_KIND[kind];
}

/** Status and message of anything a handler threw; what is not an ApiError is a 500 with its own message. */
export function errorResponseOf(error: unknown): { status: number; message: string } {
  const original = error instanceof HTTPError && error.cause !== undefined ? error.cause : error;
  if (original instanceof ApiError) return { status: statusOfKind(original.kind), message: original.message };
  if (original instanceof HTTPError) return { status: original.status, message: original.message };
  const message = (original as { message?: unknown } | undefined)?.message;
  return { status: 500, message: typeof message === "string" ? message : String(original) };
}

/** The status an ApiError answers with. */
export const statusOf = (error: ApiError): number => statusOfKind(error.kind);
