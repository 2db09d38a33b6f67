import { createRequire } from "node:module";
import { join } from "node:path";
import { PACKAGE_DIR } from "./package-info.ts";

/**
 * glibc's malloc_trim(0), from the addon npm builds at install
 * (native/malloc-trim.c): the free pages malloc keeps inside its heap go
 * back to the kernel. Where the addon was not built (no compiler at
 * install, a libc other than glibc), it does nothing.
 */
export function loadMallocTrim(log: (message: string) => void): () => void {
  try {
    if (!PACKAGE_DIR) throw new Error("nerdctld's package.json was not found");
    const addon = createRequire(import.meta.url)(join(PACKAGE_DIR, "native", "build", "Release", "malloc_trim.node")) as { mallocTrim(): boolean };
    return () => void addon.mallocTrim();
  } catch (error) {
    log(`malloc's free memory stays with the daemon: ${(error as Error).message.split("\n")[0]}`);
    return () => {};
  }
}
