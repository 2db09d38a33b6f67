import { describe, expect, it } from "vitest";
import { MetricsRegistry } from "./metrics.ts";

describe("the metrics registry", () => {
  it("writes counters, gauges and histograms in Prometheus' text format", () => {
    const registry = new MetricsRegistry();
    const calls = registry.counter("x_calls_total", "Calls.", ["verb"]);
    let live = 2;
    registry.gauge("x_live", "Live\nthings.", () => live);
    const durations = registry.histogram("x_seconds", "Durations.", ["route"], [0.1, 1]);
    calls.inc({ verb: "container inspect" });
    calls.inc({ verb: "container inspect" });
    calls.inc({ verb: 'odd "one"\\' });
    durations.observe({ route: "/containers/{id}/json" }, 0.05);
    durations.observe({ route: "/containers/{id}/json" }, 0.5);
    durations.observe({ route: "/containers/{id}/json" }, 5);
    live = 3;
    expect(registry.render()).toBe(
      [
        "# HELP x_calls_total Calls.",
        "# TYPE x_calls_total counter",
        'x_calls_total{verb="container inspect"} 2',
        'x_calls_total{verb="odd \\"one\\"\\\\"} 1',
        "# HELP x_live Live\\nthings.",
        "# TYPE x_live gauge",
        "x_live 3",
        "# HELP x_seconds Durations.",
        "# TYPE x_seconds histogram",
        'x_seconds_bucket{route="/containers/{id}/json",le="0.1"} 1',
        'x_seconds_bucket{route="/containers/{id}/json",le="1"} 2',
        'x_seconds_bucket{route="/containers/{id}/json",le="+Inf"} 3',
        'x_seconds_sum{route="/containers/{id}/json"} 5.55',
        'x_seconds_count{route="/containers/{id}/json"} 3',
        "",
      ].join("\n"),
    );
  });

  it("keeps one series per set of labels, whatever order they are given in", () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter("y_total", "Y.", ["a", "b"]);
    counter.inc({ a: "1", b: "2" });
    counter.inc({ b: "2", a: "1" });
    expect(registry.render()).toContain('y_total{a="1",b="2"} 2\n');
  });
});
