/**
 * nerdctld as a user installs it: `npm pack` of a clean copy of the sources
 * (its prepack compiles them), `npm i -g --prefix` of the tarball into a temp
 * prefix, and the commands run from that prefix's bin/.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { cp, mkdir, readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { REPO_ROOT } from "./daemon.ts";

/** What `npm pack` needs of the repository: the package's sources, not a dist/ left by earlier builds. */
const PACKED_SOURCES = ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "README.md", "bin", "lib", "routes", "deploy", "scripts", "native"];

export interface InstalledPackage {
  tarball: string;
  prefix: string;
  bin(name: "nerdctld" | "nerdctld-engine"): string;
  /** The package's directory in the prefix's node_modules. */
  packageDir: string;
}

/** Packs a copy of the sources in work/src; the tarball's path. */
export async function packSources(work: string): Promise<string> {
  const src = join(work, "src");
  await mkdir(src);
  for (const entry of PACKED_SOURCES) await cp(join(REPO_ROOT, entry), join(src, entry), { recursive: true });
  await symlink(join(REPO_ROOT, "node_modules"), join(src, "node_modules"));
  const packDir = join(work, "pack");
  await mkdir(packDir);
  const packed = await execa("npm", ["pack", "--json", "--pack-destination", packDir], { cwd: src, stdin: "ignore" });
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  return join(packDir, filename);
}

/** Packs a copy of the sources in work/src and installs the tarball into work/prefix. */
export async function packAndInstall(work: string): Promise<InstalledPackage> {
  const tarball = await packSources(work);
  const prefix = join(work, "prefix");
  // From work, not the repository, so no project .npmrc or workspace is in play.
  await execa("npm", ["install", "--global", "--prefix", prefix, "--no-audit", "--no-fund", tarball], {
    cwd: work,
    stdin: "ignore",
  });
  return {
    tarball,
    prefix,
    bin: (name) => join(prefix, "bin", name),
    packageDir: join(prefix, "lib", "node_modules", "nerdctld"),
  };
}

export interface RunningProcess {
  child: ChildProcess;
  logFile: string;
  log(): Promise<string>;
  /** SIGTERM, then SIGKILL after 30 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Starts a long-running command with its output in logFile; `ready` is polled until true (or the command exits). */
export async function startProcess(
  file: string,
  args: string[],
  options: { logFile: string; env?: NodeJS.ProcessEnv; ready: () => Promise<boolean>; timeoutMs?: number },
): Promise<RunningProcess> {
  const out = createWriteStream(options.logFile);
  await new Promise((resolve) => out.once("open", resolve));
  const child = spawn(file, args, { stdio: ["ignore", out, out], env: options.env ?? process.env });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const log = () => readFile(options.logFile, "utf8").catch(() => "");
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const stopped = await Promise.race([exited.then(() => true), sleep(30_000, false, { ref: false })]);
      if (!stopped) child.kill("SIGKILL");
      await exited;
    }
    out.end();
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      out.end();
      throw new Error(`${file} ${args.join(" ")} exited (${child.exitCode ?? child.signalCode}) while starting:\n${await log()}`);
    }
    if (await options.ready()) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${file} ${args.join(" ")} was not ready in time:\n${await log()}`);
    }
    await sleep(200);
  }
  return { child, logFile: options.logFile, log, stop };
}

/** `export NAME='value'` lines, as nerdctld-engine start prints them, as an environment. */
export function parseExports(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^export ([A-Z_][A-Z0-9_]*)='(.*)'$/.exec(line);
    if (match) env[match[1]!] = match[2]!.replaceAll(`'\\''`, "'");
  }
  return env;
}
