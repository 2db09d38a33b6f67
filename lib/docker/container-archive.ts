import { badParameter, notFound, systemError, type ApiError } from "../errors.ts";

/*
 * The container archive endpoints (HEAD, GET and PUT /containers/{id}/archive)
 * in dockerd's terms: the path-stat header docker cp decodes, and dockerd's
 * words for what goes wrong.
 */

/** The header HEAD and GET answer with: base64 of the path's stat as JSON. */
export const PATH_STAT_HEADER = "X-Docker-Container-Path-Stat";

/** types.ContainerPathStat: what docker cp reads of a container path. */
export interface ContainerPathStat {
  name: string;
  size: number;
  /** Go's os.FileMode: permission bits, then type and special bits high. */
  mode: number;
  /** RFC 3339 with nanoseconds, as Go marshals a time. */
  mtime: string;
  linkTarget: string;
}

/** Go's os.FileMode bits (io/fs). */
const MODE = {
  dir: 2 ** 31,
  symlink: 2 ** 27,
  device: 2 ** 26,
  namedPipe: 2 ** 25,
  socket: 2 ** 24,
  setuid: 2 ** 23,
  setgid: 2 ** 22,
  charDevice: 2 ** 21,
  sticky: 2 ** 20,
} as const;

/** st_mode as Go's os.Lstat turns it into an os.FileMode. */
export function goFileMode(stMode: number): number {
  let mode = stMode & 0o777;
  switch (stMode & 0o170000) {
    case 0o060000:
      mode += MODE.device;
      break;
    case 0o020000:
      mode += MODE.device + MODE.charDevice;
      break;
    case 0o040000:
      mode += MODE.dir;
      break;
    case 0o010000:
      mode += MODE.namedPipe;
      break;
    case 0o120000:
      mode += MODE.symlink;
      break;
    case 0o140000:
      mode += MODE.socket;
      break;
  }
  if (stMode & 0o2000) mode += MODE.setgid;
  if (stMode & 0o4000) mode += MODE.setuid;
  if (stMode & 0o1000) mode += MODE.sticky;
  return mode;
}

/** A time in nanoseconds since the epoch as Go marshals it in UTC (RFC 3339, fraction without trailing zeros). */
export function goTimeUTC(ns: bigint): string {
  const seconds = ns >= 0n ? ns / 1_000_000_000n : (ns - 999_999_999n) / 1_000_000_000n;
  const fraction = ns - seconds * 1_000_000_000n;
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const digits = fraction.toString().padStart(9, "0").replace(/0+$/, "");
  return `${base}${digits ? `.${digits}` : ""}Z`;
}

/** JSON as Go's encoding/json writes it: HTML characters and line separators escaped. */
function goJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029")
    .replace(/\\b/g, "\\u0008")
    .replace(/\\f/g, "\\u000c");
}

/** The header's value: the stat's JSON (fields in Go's order), base64. */
export function encodePathStat(stat: ContainerPathStat): string {
  const ordered = { name: stat.name, size: stat.size, mode: stat.mode, mtime: stat.mtime, linkTarget: stat.linkTarget };
  return Buffer.from(goJson(ordered), "utf8").toString("base64");
}

/** dockerd's 400 for a request without `path` (its words, missing space included). */
export const emptyPathError = (): ApiError => badParameter("bad parameter: pathcannot be empty");

/** dockerd's 404 for a path that does not exist: the path and container as the client named them. */
export const fileNotFound = (path: string, container: string): ApiError => notFound(`Could not find the file ${path} in container ${container}`);

export const EXTRACTION_POINT_NOT_DIRECTORY = "extraction point is not a directory";
export const READ_ONLY_ROOTFS = "container rootfs is marked read-only";
export const READ_ONLY_VOLUME = "mounted volume is marked read-only";

/**
 * The owner docker cp -a gives what it copies in: the container's user, looked
 * up in its /etc/passwd (by name, or by uid), with that user's primary group.
 */
export function passwdOwner(passwd: string | undefined, user: string): { uid: number; gid: number } {
  const name = user.split(":")[0]!;
  const entries = (passwd ?? "")
    .split("\n")
    .map((line) => line.split(":"))
    .filter((fields) => fields.length >= 4 && /^\d+$/.test(fields[2]!) && /^\d+$/.test(fields[3]!));
  const entry = entries.find((fields) => fields[0] === name) ?? (/^\d+$/.test(name) ? entries.find((fields) => fields[2] === name) : undefined);
  if (!entry) throw systemError(`getent unable to find entry ${JSON.stringify(name)} in passwd database`);
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

/** Go's words for the errors a file system walk meets (syscall.Errno's strings on Linux). */
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  ELOOP: "too many levels of symbolic links",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  EEXIST: "file exists",
  ENOTEMPTY: "directory not empty",
  EBUSY: "device or resource busy",
  EXDEV: "invalid cross-device link",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  ENAMETOOLONG: "file name too long",
  EMLINK: "too many links",
  EINVAL: "invalid argument",
  EIO: "input/output error",
};

/** An os.PathError's message: "lstat /etc/x: not a directory". */
export function pathErrorMessage(op: string, path: string, code: string): string {
  return `${op} ${path}: ${ERRNO_TEXT[code] ?? code}`;
}

/**
 * The response encoding dockerd picks for an archive from Accept-Encoding
 * (gzip or deflate, by quality, gzip first on a tie); undefined for none.
 * Docker's Go clients on a unix socket ask for none.
 */
export function archiveEncoding(acceptEncoding: string | undefined): "gzip" | "deflate" | undefined {
  const specs: { coding: string; quality: number }[] = [];
  for (const item of (acceptEncoding ?? "").split(",")) {
    const [coding, ...parameters] = item.trim().split(";");
    if (!coding) continue;
    const q = parameters.map((parameter) => /^\s*q\s*=\s*([\d.]+)\s*$/i.exec(parameter)).find(Boolean);
    specs.push({ coding: coding.trim().toLowerCase(), quality: q ? Number(q[1]) : 1 });
  }
  let best: "gzip" | "deflate" | undefined;
  let bestQuality = -1;
  for (const offer of ["gzip", "deflate"] as const) {
    for (const { coding, quality } of specs) {
      if (quality > bestQuality && (coding === "*" || coding === offer)) {
        best = offer;
        bestQuality = quality;
      }
    }
  }
  return bestQuality > 0 ? best : undefined;
}
