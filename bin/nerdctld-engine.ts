#!/usr/bin/env node
/**
 * nerdctld-engine: install the engine programs, or start, stop or inspect a
 * managed engine (containerd + buildkitd) outside nerdctld, for tests and scripts:
 *
 *   nerdctld-engine install
 *   eval "$(nerdctld-engine start --state-dir /tmp/e/run --data-dir /tmp/e/data)"
 *   nerdctl info
 *   nerdctld-engine stop --state-dir /tmp/e/run --data-dir /tmp/e/data
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { engineLayout, type EngineLayoutOptions } from "../lib/engine/layout.ts";
import { engineStatus, startManagedEngine, stopEngine } from "../lib/engine/managed.ts";
import { PACKAGE_DIR } from "../lib/package-info.ts";

const USAGE = `Usage: nerdctld-engine <install|start|stop|status> [options]

Runs containerd and buildkitd (containerd worker) with their own config,
roots and sockets, apart from any system containerd.

Commands:
  install  As root on Debian/Ubuntu, with Go 1.26+: install the engine
           programs (Debian's packages, and containerd, runc, buildkit,
           nerdctl and CNI plugins built at pinned versions) into
           $NERDCTLD_ENGINE_HOME (default /opt/nerdctld-engine), saying how
           long each took. A second run only checks.
  start    Start both daemons detached (or attach to ones already running for
           this layout), wait until they answer, and print shell 'export'
           lines for CONTAINERD_ADDRESS, CONTAINERD_NAMESPACE, NERDCTL_TOML,
           BUILDKIT_HOST, PATH, ... Use: eval "$(nerdctld-engine start)".
           On failure, prints the end of the failing daemon's log and exits 1.
  stop     Stop the daemons of this layout (SIGTERM, 10 s, then SIGKILL),
           whoever started them; remove pid files and sockets. Before
           containerd, stop every running task of every namespace (SIGTERM,
           10 s, then SIGKILL and delete), as dockerd does: shims exit and
           rootfs mounts are released; containers stay, as exited.
  status   Print the daemons' status as JSON. Exits 0 when both run and
           answer, 3 otherwise.

Options:
  --state-dir DIR   sockets, pid files, logs, configs (default /run/nerdctld/engine)
  --data-dir DIR    images, snapshots, build cache (default /var/lib/nerdctld/engine)
  --namespace NS    containerd namespace (default "default")
  --bin-dir DIR     engine binaries (default $NERDCTLD_ENGINE_HOME/current/bin,
                    NERDCTLD_ENGINE_HOME defaulting to /opt/nerdctld-engine; PATH
                    when that directory does not exist)
  --timeout SEC     how long each daemon may take to answer on start (default 60)
  --keep-containers stop: leave running containers (and their shims) running
  -h, --help        show this help
`;

/** POSIX single quotes: everything literal, a quote becomes '\''. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "state-dir": { type: "string" },
      "data-dir": { type: "string" },
      namespace: { type: "string" },
      "bin-dir": { type: "string" },
      timeout: { type: "string" },
      "keep-containers": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [command, ...extra] = positionals;
  if (command === undefined || extra.length > 0) {
    process.stderr.write(USAGE);
    return 2;
  }

  const layoutOptions: EngineLayoutOptions = {
    stateDir: values["state-dir"],
    dataDir: values["data-dir"],
    namespace: values.namespace,
    binDir: values["bin-dir"],
  };

  switch (command) {
    case "install": {
      if (!PACKAGE_DIR) throw new Error("cannot find nerdctld's package directory (its package.json)");
      const script = join(PACKAGE_DIR, "scripts", "install-engine.sh");
      const result = await execa("bash", [script], { stdio: "inherit", reject: false });
      return result.exitCode ?? 1;
    }
    case "start": {
      const timeoutSeconds = values.timeout === undefined ? 60 : Number(values.timeout);
      if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
        process.stderr.write(`nerdctld-engine: --timeout must be a positive number of seconds\n`);
        return 2;
      }
      const engine = await startManagedEngine({
        ...layoutOptions,
        detached: true,
        reuse: true,
        timeoutMs: timeoutSeconds * 1000,
      });
      const verb = engine.owned ? "started" : "already running:";
      process.stderr.write(
        `nerdctld-engine: ${verb} containerd (pid ${engine.pids.containerd}), buildkitd (pid ${engine.pids.buildkitd})\n`,
      );
      for (const [name, value] of Object.entries(engine.env)) {
        process.stdout.write(`export ${name}=${shellQuote(value)}\n`);
      }
      return 0;
    }
    case "stop": {
      const { stopped, tasks } = await stopEngine(engineLayout(layoutOptions), {
        containers: values["keep-containers"] ? "leave" : "stop",
      });
      if (tasks.length > 0) {
        const killed = tasks.filter((task) => !task.exitedOnTerm).length;
        process.stderr.write(
          `nerdctld-engine: stopped ${tasks.length} task(s)${killed > 0 ? `, ${killed} killed after the grace period` : ""}\n`,
        );
      }
      process.stderr.write(`nerdctld-engine: ${stopped.length > 0 ? `stopped ${stopped.join(", ")}` : "nothing was running"}\n`);
      return 0;
    }
    case "status": {
      const status = await engineStatus(engineLayout(layoutOptions));
      process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      const healthy = status.containerd.responding && status.buildkitd.responding;
      return healthy ? 0 : 3;
    }
    default:
      process.stderr.write(`nerdctld-engine: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`nerdctld-engine: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
