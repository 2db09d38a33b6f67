import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** nerdctld's own package.json and its directory, found from here in the source tree and in dist/ alike. */
function findPackage(): { version: string; dir?: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version: string };
      if (pkg.name === "nerdctld") return { version: pkg.version, dir };
    } catch {
      // not here; keep climbing
    }
    const parent = dirname(dir);
    if (parent === dir) return { version: "0.0.0-dev" };
    dir = parent;
  }
}

const PACKAGE = findPackage();

export const DAEMON_VERSION = PACKAGE.version;

/** The package's root (the repository, or where npm installed it); undefined when package.json is not found. */
export const PACKAGE_DIR = PACKAGE.dir;

/** The compiled routes/ next to the compiled lib/ (or the sources when run from them). */
export const ROUTES_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "routes");
