import { Filters } from "../docker/filters.ts";
import { isKind } from "../errors.ts";
import { inspectContainer } from "../nerdctl/containers.ts";
import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import type { Scope } from "./scope.ts";

/*
 * Knowing when a container exits or goes away: from the namespace's engine
 * events as they happen, and from the container's record every few seconds,
 * for an exit the event stream did not carry (its source restarting, or just
 * started for this namespace).
 */

const RECHECK_MS = 2_000;

/** How the wait ended; a removal carries the exit code seen last before it, if any. */
export type ContainerEnd = { kind: "exit"; exitCode: number } | { kind: "removed"; exitCode?: number };

/** The moment a wait starts from: what the container's record said then. */
export interface ExitBaseline {
  id: string;
  running: boolean;
  finishedAt: string;
}

export function baselineOf(container: NerdctlContainerInspect): ExitBaseline {
  return { id: container.Id, running: container.State?.Running === true, finishedAt: container.State?.FinishedAt ?? "" };
}

/**
 * Resolves at the container's next exit after `baseline` (or its removal,
 * when `until` is "removed"), or never if `signal` aborts first. Listening
 * starts before this returns, so an exit right after the call is not missed.
 */
export function watchEnd(scope: Scope, baseline: ExitBaseline, until: "exit" | "removed", signal: AbortSignal): Promise<ContainerEnd> {
  return new Promise<ContainerEnd>((resolve) => {
    let subscription: ReturnType<Scope["events"]["subscribe"]> | undefined;
    try {
      subscription = scope.events.subscribe({ filters: Filters.none.with("type", "container").with("container", baseline.id).with("event", "die", "destroy") });
    } catch {
      // An app built without events: the record alone tells.
    }
    let done = false;
    let lastExit: number | undefined;
    const finish = (end: ContainerEnd) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      subscription?.close();
      signal.removeEventListener("abort", stop);
      resolve(end);
    };
    const stop = () => {
      done = true;
      clearInterval(timer);
      subscription?.close();
    };
    signal.addEventListener("abort", stop, { once: true });
    if (subscription) {
      void (async () => {
        for await (const event of subscription) {
          if (event.Action === "destroy") return finish({ kind: "removed", exitCode: lastExit });
          // The exit code containerd reported; the record may not show it yet.
          lastExit = Number(event.Actor.Attributes.exitCode ?? 0);
          if (until === "exit") return finish({ kind: "exit", exitCode: lastExit });
        }
      })().catch(() => {});
    }
    // What the record shows ahead of the event stream, the state learns too: the client's next read must not contradict its wait.
    const recheck = async () => {
      try {
        const container = await inspectContainer(scope.nerdctl, baseline.id);
        const now = baselineOf(container);
        if (!now.running && (baseline.running || now.finishedAt !== baseline.finishedAt)) {
          lastExit ??= container.State?.ExitCode ?? 0;
          if (until === "exit" && !done) {
            scope.state.containerChanged(baseline.id);
            finish({ kind: "exit", exitCode: lastExit });
          }
        }
      } catch (error) {
        if (isKind(error, "not-found") && !done) {
          scope.state.containersRemoved([baseline.id]);
          finish({ kind: "removed", exitCode: lastExit });
        }
      }
    };
    const timer = setInterval(() => void recheck(), RECHECK_MS);
    if (signal.aborted) stop();
  });
}
