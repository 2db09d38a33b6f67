import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { LogFormat } from "./log.ts";
import { topLevelTomlString } from "./nerdctl/files.ts";
import { parseMetricsAddress } from "./server/metrics-listen.ts";

export type EngineMode = "auto" | "managed" | "external";

export interface DaemonConfig {
  hosts: string[];
  debug: boolean;
  group?: string;
  /** containerd namespace; unset leaves it to nerdctl (its nerdctl.toml, then `default`). */
  namespace?: string;
  /** containerd socket; unset leaves it to nerdctl. */
  address?: string;
  snapshotter?: string;
  nerdctlToml?: string;
  nerdctl: string;
  buildctl: string;
  engine: EngineMode;
  engineStateDir?: string;
  engineDataDir?: string;
  /** TLS for tcp:// hosts; with ca, clients must present a certificate it signed (--tlsverify). */
  tls?: { cert: string; key: string; ca?: string };
  allowInsecureTcp: boolean;
  /** Seconds requests in flight get to finish on SIGTERM. */
  shutdownTimeout: number;
  logFormat: LogFormat;
  /** HOST:PORT serving GET /metrics; unset serves none. */
  metricsAddr?: string;
  /** Buffered engine calls running at once; more wait their turn. */
  maxChildren: number;
  /** Refuse every API call that is not a read (GET, HEAD). */
  readOnlyApi: boolean;
}

export const USAGE = `Usage: nerdctld [OPTIONS]
       nerdctld dial-stdio [-H ADDRESS]

Serves the Docker Engine API (v1.24–1.43) on a socket, doing the work with
nerdctl against containerd and buildkitd.

Options:
  -H, --host ADDRESS         Where to listen; repeatable. unix:///path, fd:// (systemd
                             socket activation, fd://NAME for one named socket), or
                             tcp://HOST:PORT. Default: unix:///run/nerdctl.sock as root,
                             unix://$XDG_RUNTIME_DIR/nerdctl.sock otherwise.
  -G, --group GROUP          Group owning unix sockets (mode 0660). Default: the daemon's.
  -D, --debug                Log every request and the engine calls it makes.
      --namespace NS         containerd namespace (env CONTAINERD_NAMESPACE). Default:
                             nerdctl's (nerdctl.toml, then "default"); "k8s.io" on Kubernetes nodes.
      --address PATH         containerd socket (env CONTAINERD_ADDRESS). Default: nerdctl's
                             (/run/containerd/containerd.sock as root).
      --snapshotter NAME     containerd snapshotter (env CONTAINERD_SNAPSHOTTER).
      --nerdctl-toml PATH    nerdctl's configuration file (env NERDCTL_TOML).
      --nerdctl PATH         nerdctl binary (env NERDCTLD_NERDCTL). Default: the installed
                             engine's, else nerdctl on PATH.
      --buildctl PATH        buildctl binary (env NERDCTLD_BUILDCTL), likewise.
      --engine MODE          auto | managed | external (env NERDCTLD_ENGINE). managed:
                             start containerd and buildkitd with nerdctld's own config and
                             stop them on exit; external: use a running containerd; auto
                             (default): external when containerd answers, managed otherwise.
      --engine-state-dir DIR Managed engine sockets and pid files (default /run/nerdctld/engine).
      --engine-data-dir DIR  Managed engine data (default /var/lib/nerdctld/engine).
      --tlscert PATH         Certificate for tcp:// hosts (PEM).
      --tlskey PATH          Key for tcp:// hosts (PEM).
      --tlsverify            Require client certificates signed by --tlscacert.
      --tlscacert PATH       CA that signs the client certificates (PEM).
      --allow-insecure-tcp   Serve plain TCP on a non-loopback address (unsafe).
      --shutdown-timeout S   Seconds requests in flight get on SIGTERM (default 15).
      --log-format FORMAT    text (default: "<time> nerdctld: <message> key=value…") or json
                             (one object per line: time, level, msg and fields).
      --metrics-addr ADDR    Serve Prometheus metrics on http://ADDR/metrics (HOST:PORT;
                             ":PORT" is 127.0.0.1). Default: none.
      --max-children N       Engine calls (nerdctl, ctr, buildctl) running at once; more
                             wait their turn (default 32). Streams (pull, build, logs -f,
                             events, attach, exec) are not held back by it.
      --read-only-api        Answer only reads (GET, HEAD); every other call gets 403.
  -v, --version              Print the version and exit.
  -h, --help                 Print this help and exit.

Precedence: flags, then environment, then nerdctl.toml, then defaults.

dial-stdio connects stdin and stdout to the unix socket -H names (default as
above), as \`docker system dial-stdio\` does: the command for DOCKER_HOST=ssh://.
`;

export class UsageError extends Error {}

/** The engine's own binaries, when installed by scripts/install-engine.sh. */
export function installedEngineBin(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = join(env.NERDCTLD_ENGINE_HOME ?? "/opt/nerdctld-engine", "current", "bin");
  return existsSync(dir) ? dir : undefined;
}

export function defaultHost(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string {
  if (uid === 0) return "unix:///run/nerdctl.sock";
  if (!env.XDG_RUNTIME_DIR) throw new UsageError("XDG_RUNTIME_DIR is not set; give -H unix:///path/to/nerdctl.sock");
  return `unix://${env.XDG_RUNTIME_DIR}/nerdctl.sock`;
}

/** nerdctl's configuration file as nerdctl finds it: NERDCTL_TOML, else its default for the user. */
export function nerdctlTomlPath(config: Pick<DaemonConfig, "nerdctlToml">, env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string {
  if (config.nerdctlToml) return config.nerdctlToml;
  if (uid === 0) return "/etc/nerdctl/nerdctl.toml";
  return join(env.XDG_CONFIG_HOME ?? join(env.HOME ?? "/", ".config"), "nerdctl", "nerdctl.toml");
}

/**
 * The containerd address a nerdctl.toml names (its top-level `address`), for
 * containerd's own client (ctr), which reads no nerdctl.toml. Undefined when
 * the file or the key is absent.
 */
export function addressInNerdctlToml(text: string): string | undefined {
  return topLevelTomlString(text, "address");
}

/** The socket `nerdctld dial-stdio [-H ADDRESS]` connects to. */
export function parseDialStdio(argv: string[], env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: { host: { type: "string", short: "H" } } }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return values.host ?? defaultHost(env, uid);
}

/** Flags over environment over defaults (nerdctl.toml is nerdctl's to read). */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): DaemonConfig | "help" | "version" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: "string", short: "H", multiple: true },
        group: { type: "string", short: "G" },
        debug: { type: "boolean", short: "D" },
        namespace: { type: "string" },
        address: { type: "string" },
        snapshotter: { type: "string" },
        "nerdctl-toml": { type: "string" },
        nerdctl: { type: "string" },
        buildctl: { type: "string" },
        engine: { type: "string" },
        "engine-state-dir": { type: "string" },
        "engine-data-dir": { type: "string" },
        tlscert: { type: "string" },
        tlskey: { type: "string" },
        tlsverify: { type: "boolean" },
        tlscacert: { type: "string" },
        "allow-insecure-tcp": { type: "boolean" },
        "shutdown-timeout": { type: "string" },
        "log-format": { type: "string" },
        "metrics-addr": { type: "string" },
        "max-children": { type: "string" },
        "read-only-api": { type: "boolean" },
        version: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return "help";
  if (values.version) return "version";

  const engine = (values.engine ?? env.NERDCTLD_ENGINE ?? "auto") as EngineMode;
  if (!["auto", "managed", "external"].includes(engine)) {
    throw new UsageError(`--engine must be auto, managed or external, not ${JSON.stringify(engine)}`);
  }
  if (Boolean(values.tlscert) !== Boolean(values.tlskey)) throw new UsageError("--tlscert and --tlskey go together");
  if (values.tlsverify && !(values.tlscacert && values.tlscert)) {
    throw new UsageError("--tlsverify needs --tlscacert, --tlscert and --tlskey");
  }
  if (values.tlscacert && !values.tlsverify) throw new UsageError("--tlscacert is for --tlsverify");
  const shutdownTimeout = Number(values["shutdown-timeout"] ?? 15);
  if (!Number.isFinite(shutdownTimeout) || shutdownTimeout < 0) throw new UsageError("--shutdown-timeout must be a number of seconds");
  const logFormat = (values["log-format"] ?? "text") as LogFormat;
  if (!["text", "json"].includes(logFormat)) throw new UsageError(`--log-format must be text or json, not ${JSON.stringify(logFormat)}`);
  const maxChildren = Number(values["max-children"] ?? 32);
  if (!Number.isInteger(maxChildren) || maxChildren < 1) throw new UsageError("--max-children must be a whole number, 1 or more");
  const metricsAddr = values["metrics-addr"];
  if (metricsAddr !== undefined) {
    try {
      parseMetricsAddress(metricsAddr);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }

  const engineBin = installedEngineBin(env);
  const binary = (name: string, flag: string | undefined, variable: string) =>
    flag ?? env[variable] ?? (engineBin ? join(engineBin, name) : name);

  return {
    hosts: values.host?.length ? values.host : [defaultHost(env)],
    debug: values.debug ?? false,
    group: values.group,
    namespace: values.namespace ?? env.CONTAINERD_NAMESPACE,
    address: values.address ?? env.CONTAINERD_ADDRESS,
    snapshotter: values.snapshotter ?? env.CONTAINERD_SNAPSHOTTER,
    nerdctlToml: values["nerdctl-toml"] ?? env.NERDCTL_TOML,
    nerdctl: binary("nerdctl", values.nerdctl, "NERDCTLD_NERDCTL"),
    buildctl: binary("buildctl", values.buildctl, "NERDCTLD_BUILDCTL"),
    engine,
    engineStateDir: values["engine-state-dir"],
    engineDataDir: values["engine-data-dir"],
    tls:
      values.tlscert && values.tlskey
        ? { cert: values.tlscert, key: values.tlskey, ...(values.tlsverify ? { ca: values.tlscacert } : {}) }
        : undefined,
    allowInsecureTcp: values["allow-insecure-tcp"] ?? false,
    shutdownTimeout,
    logFormat,
    metricsAddr,
    maxChildren,
    readOnlyApi: values["read-only-api"] ?? false,
  };
}
