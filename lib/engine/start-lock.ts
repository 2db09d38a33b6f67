/**
 * One start at a time per layout: two starters would both find the daemons
 * stopped and launch two containerds on one root.
 */
import { open, rm, unlink } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { isProcessAlive, POLL_INTERVAL_MS, readPidFile } from "./processes.ts";

/** An exclusive lock file holding the starter's pid; a dead holder's lock is taken over. */
export async function acquireStartLock(lockFile: string, timeoutMs: number): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(lockFile, "wx");
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => unlink(lockFile).catch(() => {});
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await readPidFile(lockFile);
    if (holder === null || !isProcessAlive(holder)) {
      await rm(lockFile, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new Error(`another process (pid ${holder}) is starting the engine of ${lockFile}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
}
