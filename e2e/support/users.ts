/**
 * Throwaway Unix users for the suites that deploy nerdctld as someone other
 * than root (rootless, ssh): made with useradd, with a home under the suite's
 * work directory, and removed with every process they still run.
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa, type Options } from "execa";

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** The command as this user (setpriv execs it: a signal to the pid reaches the command itself). */
  argv(file: string, args: string[]): [string, string[]];
  /** Runs a command as this user with exactly env, never throwing on a non-zero exit. */
  run(file: string, args: string[], env: Record<string, string>, options?: Options): ReturnType<typeof execa>;
  /** Ends what the user still runs (by pid), then deletes the user and its subordinate id ranges. */
  remove(): Promise<void>;
}

/**
 * The pids of the live processes whose real uid is uid. Zombies are left out:
 * nothing ends them but their reaper (a daemonized containerd shim's is init).
 */
async function processesOf(uid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(join("/proc", entry, "status"), "utf8").catch(() => "");
    const real = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    if (real !== undefined && Number(real) === uid && !/^State:\s+Z/m.test(status)) pids.push(Number(entry));
  }
  return pids;
}

/** useradd with a home at home (made by useradd, owned by the user); Debian's useradd also gives it subordinate ids. */
export async function createUser(prefix: string, home: string): Promise<TestUser> {
  const name = `${prefix}${randomBytes(3).toString("hex")}`;
  await execa("useradd", ["--create-home", "--home-dir", home, "--shell", "/bin/sh", "--user-group", name]);
  const uid = Number((await execa("id", ["-u", name])).stdout);
  const gid = Number((await execa("id", ["-g", name])).stdout);
  const argv = (file: string, args: string[]): [string, string[]] => ["setpriv", [`--reuid=${uid}`, `--regid=${gid}`, "--init-groups", "--", file, ...args]];
  return {
    name,
    uid,
    gid,
    home,
    argv,
    run: (file, args, env, options = {}) => {
      const [command, commandArgs] = argv(file, args);
      return execa(command, commandArgs, { env, extendEnv: false, reject: false, stdin: "ignore", timeout: 120_000, ...options });
    },
    remove: async () => {
      for (let round = 0; round < 2; round += 1) {
        const left = await processesOf(uid);
        if (left.length === 0) break;
        const names = await Promise.all(left.map(async (pid) => `${pid} ${(await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "?")).trim()}`));
        console.error(`nerdctld e2e: ending what ${name} still runs: ${names.join(", ")}`);
        for (const pid of left) {
          try {
            process.kill(pid, round === 0 ? "SIGTERM" : "SIGKILL");
          } catch {
            // Gone meanwhile.
          }
        }
        await sleep(2000);
      }
      // userdel refuses while any process of the user is left, zombies too: their reaper gets a moment.
      for (let attempt = 1; ; attempt += 1) {
        const deleted = await execa("userdel", [name], { reject: false });
        if (deleted.exitCode === 0) break;
        if (attempt === 10) throw new Error(`userdel ${name} failed (${deleted.exitCode}): ${deleted.stderr}`);
        await sleep(1000);
      }
    },
  };
}
