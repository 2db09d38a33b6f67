import { MetricsRegistry } from "./metrics.ts";
import type { EngineCall } from "./runner/metered.ts";
import type { ServedRequest } from "./server/observe.ts";

export interface DaemonMetricsSources {
  /** Engine children running now (every program, every kind of call). */
  children(): number;
  /** Buffered engine calls waiting for a place (--max-children). */
  queued(): number;
}

/** What nerdctld measures of itself, served on --metrics-addr. */
export class DaemonMetrics {
  readonly registry = new MetricsRegistry();
  readonly #requests = this.registry.histogram(
    "nerdctld_http_request_duration_seconds",
    "API requests by route template, method and status: time to the response (for a hijacked connection, to the end of its stream).",
    ["route", "method", "status"],
  );
  readonly #engineCalls = this.registry.histogram(
    "nerdctld_engine_call_duration_seconds",
    "Engine calls (nerdctl, ctr, buildctl children) by program and verb: how long each child ran.",
    ["program", "verb"],
  );
  readonly #engineFailures = this.registry.counter(
    "nerdctld_engine_call_failures_total",
    "Engine calls whose child exited with a status other than 0, by program and verb.",
    ["program", "verb"],
  );
  readonly #eventRestarts = this.registry.counter(
    "nerdctld_event_source_restarts_total",
    "Times a namespace's nerdctl events ended or failed to start, and was started again.",
    ["namespace"],
  );

  constructor(sources: DaemonMetricsSources) {
    this.registry.gauge("nerdctld_engine_children", "Engine children running now, streams and held stdio included.", sources.children);
    this.registry.gauge("nerdctld_engine_calls_queued", "Buffered engine calls waiting for a place under --max-children.", sources.queued);
  }

  readonly request = (request: ServedRequest): void => {
    this.#requests.observe({ route: request.route, method: request.method, status: String(request.status) }, request.durationMs / 1000);
  };

  readonly engineCall = (call: EngineCall): void => {
    const labels = { program: call.program, verb: call.verb };
    this.#engineCalls.observe(labels, call.seconds);
    if (call.exitCode !== 0) this.#engineFailures.inc(labels);
  };

  readonly eventSourceRestart = (namespace: string): void => {
    this.#eventRestarts.inc({ namespace });
  };
}
