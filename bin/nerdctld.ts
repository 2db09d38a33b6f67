#!/usr/bin/env node
import { parseConfig, parseDialStdio, USAGE, UsageError } from "../lib/config.ts";
import { startDaemon } from "../lib/daemon.ts";
import { createLogger } from "../lib/log.ts";
import { dialStdio, unixSocketPath } from "../lib/io/dial-stdio.ts";
import { DAEMON_VERSION } from "../lib/package-info.ts";

const writeLog = (line: string) => process.stderr.write(line);
/** Text until the flags say otherwise. */
let log = createLogger("text", writeLog);

/** Connects stdin and stdout to the daemon's socket until the daemon's side ends. */
async function dialStdioCommand(argv: string[]): Promise<number> {
  const host = parseDialStdio(argv);
  const path = unixSocketPath(host);
  if (!path) throw new UsageError(`dial-stdio connects to unix:// sockets, not ${JSON.stringify(host)}`);
  await dialStdio(path, process.stdin, process.stdout);
  // Written out before the process exits.
  await new Promise((resolve) => process.stdout.write("", resolve));
  return 0;
}

async function main(): Promise<number> {
  let config;
  try {
    if (process.argv[2] === "dial-stdio") return await dialStdioCommand(process.argv.slice(3));
    config = parseConfig(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`nerdctld: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (config === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (config === "version") {
    process.stdout.write(`nerdctld ${DAEMON_VERSION}\n`);
    return 0;
  }

  log = createLogger(config.logFormat, writeLog);
  const daemon = await startDaemon(config, log);
  for (const listener of daemon.listeners) log(`API listening on ${listener.address}`);
  if (daemon.metrics) log(`metrics on http://${daemon.metrics.address}/metrics`);
  const first = daemon.listeners[0]?.address;
  if (first?.startsWith("unix://")) log(`use it with: export DOCKER_HOST=${first}`);

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log(`${signal}: shutting down`);
      void daemon.shutdown().then(resolve);
    };
    // `on`, not `once`: a second signal during shutdown must not fall back to Node's default (exit at once,
    // leaving a managed engine running); shutdown() runs only once whatever the number of signals.
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  log("stopped");
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
