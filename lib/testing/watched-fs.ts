/**
 * node:fs and node:fs/promises with every path the daemon's code hands them
 * written down, for tests that check where the daemon reads and writes
 * (install with vi.mock in the test file). A path naming an entry of a held
 * directory (/proc/self/fd/N/name) is written as the directory's real path,
 * read while the descriptor is still open.
 */
import type * as Fs from "node:fs";
import { resolve } from "node:path";

/** The paths seen, in call order: the function called and the absolute path. */
export const fsAccesses: { call: string; path: string }[] = [];

/** Functions whose first argument is a path. */
const FIRST = new Set([
  "access", "appendFile", "chmod", "chown", "createReadStream", "createWriteStream", "exists", "lchmod", "lchown", "lstat",
  "lutimes", "mkdir", "mkdtemp", "open", "opendir", "readdir", "readFile", "readlink", "realpath", "rm", "rmdir", "stat",
  "statfs", "truncate", "unlink", "utimes", "watch", "watchFile", "writeFile", "mkfifo",
]);
/** Functions whose first two arguments are paths. */
const BOTH = new Set(["copyFile", "cp", "link", "rename"]);

/** The same module, its path-taking functions (sync and callback forms included) recording their paths. */
export function watched<T extends object>(module: T, realpathOf: typeof Fs.readlinkSync): T {
  const record = (call: string, value: unknown) => {
    const path = typeof value === "string" ? value : value instanceof URL ? value.pathname : Buffer.isBuffer(value) ? value.toString() : undefined;
    if (path === undefined) return;
    const held = /^\/proc\/self\/fd\/(\d+)(\/.*)?$/s.exec(path);
    if (held) {
      let dir: string;
      try {
        dir = realpathOf(`/proc/self/fd/${held[1]}`);
      } catch {
        dir = `/proc/self/fd/${held[1]}`;
      }
      fsAccesses.push({ call, path: resolve(dir + (held[2] ?? "")) });
    } else fsAccesses.push({ call, path: resolve(path) });
  };
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(module)) {
    const base = name.replace(/Sync$/, "");
    if (typeof value !== "function" || !(FIRST.has(base) || BOTH.has(base) || base === "symlink")) {
      wrapped[name] = value;
      continue;
    }
    wrapped[name] = function (this: unknown, ...args: unknown[]) {
      // symlink(target, path): the target is the link's content, not a path opened.
      if (base === "symlink") record(name, args[1]);
      else record(name, args[0]);
      if (BOTH.has(base)) record(name, args[1]);
      return (value as (...given: unknown[]) => unknown).apply(this, args);
    };
  }
  // node:fs's default export and its `promises` are the same functions again.
  for (const name of ["default", "promises"]) {
    const inner = (module as Record<string, unknown>)[name];
    if (inner && typeof inner === "object") wrapped[name] = watched(inner, realpathOf);
  }
  return wrapped as T;
}
