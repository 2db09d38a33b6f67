/*
 * Slash-separated paths as Go's path/filepath treats them on Linux. dockerd
 * names archive entries and reports errors with these rules, so the same
 * request must give the same names here.
 */

/** filepath.Clean: the shortest equivalent path, lexically. */
export function goClean(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length > 0 && parts.at(-1) !== "..") parts.pop();
      else if (!rooted) parts.push("..");
      continue;
    }
    parts.push(part);
  }
  const joined = parts.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}

/** filepath.Join: the non-empty parts joined and cleaned. */
export function goJoin(...parts: string[]): string {
  const kept = parts.filter((part) => part !== "");
  return kept.length === 0 ? "" : goClean(kept.join("/"));
}

/** filepath.Base: the last element, trailing slashes ignored; "/" for the root, "." for "". */
export function goBase(path: string): string {
  if (path === "") return ".";
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** filepath.Split: everything up to and including the last slash, and the rest. */
export function goSplit(path: string): [dir: string, file: string] {
  const at = path.lastIndexOf("/");
  return [path.slice(0, at + 1), path.slice(at + 1)];
}

/** filepath.Dir: the path without its last element, cleaned. */
export function goDir(path: string): string {
  return goClean(goSplit(path)[0]);
}

/** filepath.Rel for two cleaned absolute paths: how to reach target from base. */
export function goRel(base: string, target: string): string {
  const from = base === "/" ? [] : base.slice(1).split("/");
  const to = target === "/" ? [] : target.slice(1).split("/");
  let common = 0;
  while (common < from.length && common < to.length && from[common] === to[common]) common++;
  const parts = [...from.slice(common).map(() => ".."), ...to.slice(common)];
  return parts.length === 0 ? "." : parts.join("/");
}

const specifiesCurrentDir = (path: string) => goBase(path) === ".";

/**
 * pkg/archive's PreserveTrailingDotOrSeparator: a cleaned path given back the
 * trailing "/." or "/" the original had, which decide whether a directory's
 * contents or the directory itself is meant.
 */
export function preserveTrailingDotOrSeparator(cleaned: string, original: string): string {
  let path = cleaned;
  if (!specifiesCurrentDir(path) && specifiesCurrentDir(original)) {
    if (!path.endsWith("/")) path += "/";
    path += ".";
  }
  if (!path.endsWith("/") && original.endsWith("/")) path += "/";
  return path;
}
