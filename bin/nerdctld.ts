#!/usr/bin/env node
import { parseConfig, USAGE, UsageError } from "../lib/config.ts";
import { startDaemon } from "../lib/daemon.ts";
import { createLogger } from "../lib/log.ts";
import { DAEMON_VERSION } from "../lib/package-info.ts";

const writeLog = (line: string) => process.stderr.write(line);
/** Text until the flags say otherwise. */
let log = createLogger("text", writeLog);

async function main(): Promise<number> {
  let config;
  try {
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
