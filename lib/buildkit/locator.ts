import { connect } from "node:net";
import { join } from "node:path";
import type { Dial } from "./http2-relay.ts";
import { listWorkerLabels, WORKER_EXECUTOR, WORKER_NAMESPACE } from "./workers.ts";

/** Where a namespace's builds can go: buildkitd's socket, or why there is none. */
export type BuildkitTarget = { socket: string; dial: Dial } | { unavailable: string };

export interface BuildkitLocatorOptions {
  /** BUILDKIT_HOST, when set: the one buildkitd nerdctl builds with. */
  buildkitHost?: string | undefined;
  /** Where buildkitd's sockets are looked for: /run as root, $XDG_RUNTIME_DIR rootless (as nerdctl does). */
  runDir: string;
  /** How long buildkitd gets to list its workers. */
  timeoutMs?: number;
}

const LIST_WORKERS_TIMEOUT_MS = 5_000;

/**
 * Finds the buildkitd a containerd namespace builds with, as nerdctl does
 * (BUILDKIT_HOST, else buildkit-<namespace>, buildkit-default, buildkit under
 * the run dir), and whether its images land in that namespace: it must have a
 * containerd worker of that namespace. A buildkitd's workers are asked once
 * and remembered while its socket answers.
 */
export class BuildkitLocator {
  readonly #workers = new Map<string, Promise<Record<string, string>[]>>();
  readonly #recent = new Map<string, { at: number; target: Promise<BuildkitTarget> }>();

  constructor(private readonly options: BuildkitLocatorOptions) {}

  /** The sockets tried for a namespace, in order; a BUILDKIT_HOST that is not unix:// gives none. */
  candidates(namespace: string): string[] {
    const host = this.options.buildkitHost;
    if (host) return host.startsWith("unix://") ? [host.slice("unix://".length)] : [];
    const run = this.options.runDir;
    return [
      ...(namespace === "default" ? [] : [join(run, `buildkit-${namespace}`, "buildkitd.sock")]),
      join(run, "buildkit-default", "buildkitd.sock"),
      join(run, "buildkit", "buildkitd.sock"),
    ];
  }

  /** What find says, or said less than maxAgeMs ago (/_ping's Builder-Version: one probe however many pings). */
  findRecent(namespace: string, maxAgeMs: number): Promise<BuildkitTarget> {
    const now = Date.now();
    const recent = this.#recent.get(namespace);
    if (recent && now - recent.at < maxAgeMs) return recent.target;
    const target = this.find(namespace);
    this.#recent.set(namespace, { at: now, target });
    return target;
  }

  async find(namespace: string): Promise<BuildkitTarget> {
    const candidates = this.candidates(namespace);
    if (candidates.length === 0) return { unavailable: `BUILDKIT_HOST ${this.options.buildkitHost} is not a unix:// socket` };
    for (const socket of candidates) {
      if (!(await answers(socket))) {
        this.#workers.delete(socket);
        continue;
      }
      const dial: Dial = () => connect(socket);
      let workers = this.#workers.get(socket);
      if (!workers) {
        workers = listWorkerLabels(dial, AbortSignal.timeout(this.options.timeoutMs ?? LIST_WORKERS_TIMEOUT_MS));
        this.#workers.set(socket, workers);
        workers.catch(() => this.#workers.delete(socket));
      }
      let labels: Record<string, string>[];
      try {
        labels = await workers;
      } catch {
        continue;
      }
      const worker = labels.find((worker) => worker[WORKER_EXECUTOR] === "containerd");
      if (!worker) return { unavailable: `buildkitd on ${socket} has no containerd worker, so what it builds would not be in containerd's store` };
      const served = worker[WORKER_NAMESPACE];
      if (served !== namespace) return { unavailable: `buildkitd on ${socket} builds into containerd namespace ${served ?? "(none)"}, not ${namespace}` };
      return { socket, dial };
    }
    return { unavailable: `no buildkitd answers (tried ${candidates.join(", ")})` };
  }
}

/** Whether something listens on the socket (a connect, closed at once). */
function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socket);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}
