/**
 * A second nerdctld on the engine under test (`--engine external`), with a
 * TMPDIR of its own: the extra daemon of extra-daemon.ts, as the suites that
 * read its log, its metrics and its temporary files see it.
 */
import { join } from "node:path";
import { execa } from "execa";
import { dockerCliEnv } from "./dockerd.ts";
import type { EngineAccess } from "./engine-client.ts";
import { startExtraDaemon } from "./extra-daemon.ts";

export interface SecondDaemon {
  dockerHost: string;
  /** Its socket, as this host reaches it. */
  socketPath: string;
  /** Its process id where it runs (this host, or the engine container). */
  pid: number;
  /** Its TMPDIR, as this host reaches it: a directory of its own. */
  tmpDir: string;
  /** Its log so far. */
  text(): Promise<string>;
  /** Its log's JSON records (with --log-format json). */
  log(): Promise<Record<string, unknown>[]>;
  /** GET of a URL as seen where the daemon runs (its metrics listener). */
  fetchText(url: string): Promise<string>;
  /** SIGTERM, and waits for it to end; removes what it was given. Idempotent. */
  stop(): Promise<void>;
}

const records = (text: string) =>
  text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** Starts a nerdctld with these flags (`-H` is added) next to the engine; `label` names its directory. */
export async function startSecondDaemon(access: EngineAccess, label: string, flags: string[]): Promise<SecondDaemon> {
  const daemon = await startExtraDaemon(access, { name: label, flags, env: { TMPDIR: "{dir}/tmp" } });
  const fetchByNode = (url: string) =>
    access.kind === "host"
      ? fetch(url).then((response) => response.text())
      : execa(access.docker, ["exec", access.containerId, "/usr/bin/node", "-e", "fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t))", url], {
          env: dockerCliEnv(access.dockerHost),
          stdin: "ignore",
        }).then((result) => String(result.stdout));
  return {
    dockerHost: daemon.dockerHost,
    socketPath: daemon.socketPath,
    pid: daemon.pid,
    tmpDir: join(daemon.dir.host, "tmp"),
    text: daemon.log,
    log: async () => records(await daemon.log()),
    fetchText: fetchByNode,
    stop: daemon.stop,
  };
}
