/**
 * Registry failures in dockerd's words. A registry's own error answer
 * (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`)
 * reads as docker/distribution's errcode does (`manifest unknown: manifest
 * unknown`) with that code's status; a failure to get an answer at all reads as
 * Go's url.Error (`Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000:
 * connect: connection refused`).
 */
import { ApiError, type ErrorKind } from "../errors.ts";
import { parseChallenges } from "./challenge.ts";

/** docker/distribution's registered error codes and the kind of error each is (RANGE_INVALID, 416 there, is a bad parameter here). */
const ERROR_CODE_KIND: Record<string, ErrorKind> = {
  UNKNOWN: "system",
  UNSUPPORTED: "not-allowed",
  UNAUTHORIZED: "unauthorized",
  DENIED: "forbidden",
  UNAVAILABLE: "unavailable",
  TOOMANYREQUESTS: "too-many-requests",
  DIGEST_INVALID: "invalid-parameter",
  SIZE_INVALID: "invalid-parameter",
  NAME_INVALID: "invalid-parameter",
  TAG_INVALID: "invalid-parameter",
  NAME_UNKNOWN: "not-found",
  MANIFEST_UNKNOWN: "not-found",
  MANIFEST_INVALID: "invalid-parameter",
  MANIFEST_UNVERIFIED: "invalid-parameter",
  MANIFEST_BLOB_UNKNOWN: "not-found",
  BLOB_UNKNOWN: "not-found",
  BLOB_UPLOAD_UNKNOWN: "not-found",
  BLOB_UPLOAD_INVALID: "not-found",
  PAGINATION_NUMBER_INVALID: "invalid-parameter",
  RANGE_INVALID: "invalid-parameter",
};

/** The default message of the codes a token server's challenge can carry. */
const DEFAULT_MESSAGES: Record<string, string> = {
  UNAUTHORIZED: "authentication required",
  DENIED: "requested access to the resource is denied",
};

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? "";
}

/** A message that came from a remote server, made safe to show: one bounded line of printable text. */
export function remoteText(value: unknown, max = 300): string {
  const text = typeof value === "string" ? value : value === undefined || value === null ? "" : JSON.stringify(value);
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

interface ErrcodeError {
  code: string;
  message: string;
}

function errcodeText(error: ErrcodeError): string {
  const code = error.code.toLowerCase().replace(/_/g, " ");
  return `${code}: ${error.message}`;
}

/** `unauthorized: …`, or distribution's `errors:\n…\n` list when there are several. */
function errcodeMessage(errors: ErrcodeError[]): string {
  if (errors.length === 1) return errcodeText(errors[0]!);
  return `errors:\n${errors.map((error) => `${errcodeText(error)}\n`).join("")}`;
}

function knownCode(value: unknown): string {
  const code = typeof value === "string" ? value.toUpperCase() : "";
  return code in ERROR_CODE_KIND ? code : "UNKNOWN";
}

/**
 * What a registry (or its token server) answered with an error status, as
 * distribution's HandleErrorResponse reads it; the status is the first error
 * code's, as dockerd sends it on.
 */
export function registryResponseError(status: number, headers: Headers, body: string): ApiError {
  if (status >= 400 && status < 500) {
    for (const challenge of parseChallenges(headers.get("www-authenticate"))) {
      if (challenge.scheme !== "bearer") continue;
      const code = challenge.parameters.error === "invalid_token" ? "UNAUTHORIZED" : challenge.parameters.error === "insufficient_scope" ? "DENIED" : undefined;
      if (!code) continue;
      const message = remoteText(challenge.parameters.error_description) || DEFAULT_MESSAGES[code]!;
      return new ApiError(ERROR_CODE_KIND[code]!, errcodeText({ code, message }));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    const details = (parsed as { details?: unknown } | undefined)?.details;
    if (typeof details === "string" && details !== "") {
      const code = status === 401 ? "UNAUTHORIZED" : status === 429 ? "TOOMANYREQUESTS" : "UNKNOWN";
      return new ApiError(status === 401 ? "unauthorized" : status === 429 ? "too-many-requests" : "system", errcodeText({ code, message: remoteText(details) }));
    }
    const list = (parsed as { errors?: unknown } | undefined)?.errors;
    if (Array.isArray(list) && list.length > 0) {
      const errors = list.slice(0, 10).map((item: { code?: unknown; message?: unknown }) => {
        const code = knownCode(item?.code);
        return { code, message: remoteText(item?.message) || DEFAULT_MESSAGES[code] || "" };
      });
      return new ApiError(ERROR_CODE_KIND[errors[0]!.code]!, errcodeMessage(errors));
    }
    if (status === 401) return new ApiError("unauthorized", errcodeText({ code: "UNAUTHORIZED", message: DEFAULT_MESSAGES.UNAUTHORIZED! }));
    const reason = parsed === undefined ? "invalid character in JSON" : "no error details found in HTTP response body";
    return new ApiError("system", `error parsing HTTP ${status} response body: ${reason}: ${JSON.stringify(remoteText(body, 200))}`);
  }
  return new ApiError("system", `received unexpected HTTP status: ${status} ${statusText(status)}`.trim());
}

/** Go's url.Error: `Get "http://…": <why>`. */
export function requestError(method: string, url: string, why: string, kind: ErrorKind = "system"): ApiError {
  const op = method.charAt(0).toUpperCase() + method.slice(1).toLowerCase();
  return new ApiError(kind, `${op} ${JSON.stringify(url)}: ${why}`);
}

interface NetworkCause {
  code?: string;
  message?: string;
  address?: string;
  port?: number;
  hostname?: string;
}

/** Why fetch failed, in Go's net/http words where there is an equivalent. */
export function networkReason(error: unknown, host: string, timeoutMs: number): string {
  const failure = error as { name?: string; message?: string; cause?: NetworkCause } | undefined;
  if (failure?.name === "TimeoutError") return `context deadline exceeded (Client.Timeout exceeded after ${timeoutMs / 1000} s)`;
  if (failure?.name === "AbortError") return "context canceled";
  const cause = failure?.cause ?? {};
  const where = cause.address !== undefined ? `${cause.address.includes(":") ? `[${cause.address}]` : cause.address}:${cause.port ?? ""}` : host;
  switch (cause.code) {
    case "ECONNREFUSED":
      return `dial tcp ${where}: connect: connection refused`;
    case "ENOTFOUND":
      return `dial tcp: lookup ${cause.hostname ?? host}: no such host`;
    case "EAI_AGAIN":
      return `dial tcp: lookup ${cause.hostname ?? host}: temporary failure in name resolution`;
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return `dial tcp ${where}: i/o timeout`;
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
      return "read: connection reset by peer";
    case "EHOSTUNREACH":
      return `dial tcp ${where}: connect: no route to host`;
    case "ENETUNREACH":
      return `dial tcp ${where}: connect: network is unreachable`;
  }
  // The fetch standard's port blocklist (1, 7, 9, …, 6000, 10080): undici refuses to dial them.
  if (cause.message === "bad port") return `dial tcp ${host}: port blocked by fetch ("bad port"): serve the registry on another port`;
  return remoteText(cause.message ?? failure?.message ?? String(error));
}
