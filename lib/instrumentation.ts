import type { Logger } from "./log.ts";
import { MetricsRegistry } from "./metrics.ts";
import { CrashLoggingRunner, type CrashLog } from "./nerdctl/crash-log.ts";
import { CoalescingRunner } from "./runner/coalescing.ts";
import { LimitingRunner } from "./runner/limiting.ts";
import { LoggingRunner } from "./runner/logging.ts";
import { MeteredRunner, type EngineCall } from "./runner/metered.ts";
import type { CommandRunner } from "./runner/types.ts";
import { requestLog, type ServedRequest } from "./server/observe.ts";

/*
 * How the daemon watches itself: its metrics, the runner every engine call
 * goes through (bounded, measured, logged with --debug) and what it does with
 * each answered request.
 */

export interface DaemonMetricsSources {
  /** Engine children running now (every program, every kind of call). */
  children(): number;
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

  /** Buffered engine calls waiting for a place (--max-children), once the runner is made. */
  #queued: () => number = () => 0;

  constructor(sources: DaemonMetricsSources) {
    this.registry.gauge("nerdctld_engine_children", "Engine children running now, streams and held stdio included.", sources.children);
    this.registry.gauge("nerdctld_engine_calls_queued", "Buffered engine calls waiting for a place under --max-children.", () => this.#queued());
    // The names Prometheus' Node.js client uses, so existing dashboards read them.
    this.registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", () => process.memoryUsage.rss());
    this.registry.gauge("nodejs_heap_size_total_bytes", "V8's heap size in bytes.", () => process.memoryUsage().heapTotal);
    this.registry.gauge("nodejs_heap_size_used_bytes", "V8's heap in use, in bytes.", () => process.memoryUsage().heapUsed);
    this.registry.gauge("nodejs_external_memory_bytes", "Memory of C++ objects bound to JavaScript ones (buffers included), in bytes.", () => process.memoryUsage().external);
  }

  /**
   * The runner the daemon's services use, over the one that starts children:
   * identical concurrent reads share a child, at most `maxChildren` buffered
   * calls run at once, and each call is measured (and logged with --debug).
   */
  engineRunner(real: CommandRunner, options: { maxChildren: number; crashLog: CrashLog; debugLog?: (line: string) => void }): CommandRunner {
    const limited = new LimitingRunner(new MeteredRunner(real, this.engineCall), options.maxChildren);
    this.#queued = () => limited.queued;
    // Below the coalescing: a crash is logged once for the child that had it, however many reads shared it.
    return new CoalescingRunner(new CrashLoggingRunner(options.debugLog ? new LoggingRunner(limited, options.debugLog) : limited, options.crashLog));
  }

  /** What the daemon does with each answered request: its log line, its metrics. */
  requestObserver(log: Logger, debug: boolean): (request: ServedRequest) => void {
    const logRequest = requestLog(log, debug);
    return (request) => {
      logRequest(request);
      this.request(request);
    };
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
