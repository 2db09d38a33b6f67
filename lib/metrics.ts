/*
 * Counters, gauges and histograms, written in Prometheus' text exposition
 * format (version 0.0.4). Label values must come from a small fixed set
 * (route templates, verbs, statuses), never from what a client sends.
 */

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const escapeHelp = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  return entries.length ? `{${entries.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(",")}}` : "";
}

function numberText(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

interface Metric {
  render(): string[];
}

/** A family of series of one kind, keyed by their labels in the family's label order. */
abstract class Family<S> implements Metric {
  readonly #series = new Map<string, { labels: Labels; value: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
    readonly labelNames: readonly string[],
  ) {}

  protected abstract fresh(): S;
  protected abstract lines(labels: Labels, value: S): string[];

  protected series(labels: Labels): S {
    // Every request observes: the key is the values alone, joined by a character no label value holds.
    const key = this.labelNames.map((name) => labels[name] ?? "").join("\u0000");
    let entry = this.#series.get(key);
    if (!entry) {
      entry = { labels: Object.fromEntries(this.labelNames.map((name) => [name, labels[name] ?? ""])), value: this.fresh() };
      this.#series.set(key, entry);
    }
    return entry.value;
  }

  render(): string[] {
    return [
      `# HELP ${this.name} ${escapeHelp(this.help)}`,
      `# TYPE ${this.name} ${this.type}`,
      ...[...this.#series.values()].flatMap(({ labels, value }) => this.lines(labels, value)),
    ];
  }
}

export class Counter extends Family<{ value: number }> {
  inc(labels: Labels = {}, by = 1): void {
    this.series(labels).value += by;
  }

  protected fresh() {
    return { value: 0 };
  }

  protected lines(labels: Labels, series: { value: number }): string[] {
    return [`${this.name}${labelText(labels)} ${numberText(series.value)}`];
  }
}

/** A gauge read when scraped. */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string[] {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} gauge`, `${this.name} ${numberText(this.read())}`];
  }
}

interface HistogramSeries {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Family<HistogramSeries> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, "histogram", labelNames);
  }

  observe(labels: Labels, value: number): void {
    const series = this.series(labels);
    series.sum += value;
    series.count += 1;
    this.buckets.forEach((bound, i) => {
      if (value <= bound) series.counts[i]! += 1;
    });
  }

  protected fresh(): HistogramSeries {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  protected lines(labels: Labels, series: HistogramSeries): string[] {
    return [
      ...this.buckets.map((bound, i) => `${this.name}_bucket${labelText({ ...labels, le: numberText(bound) })} ${series.counts[i]}`),
      `${this.name}_bucket${labelText({ ...labels, le: "+Inf" })} ${series.count}`,
      `${this.name}_sum${labelText(labels)} ${numberText(series.sum)}`,
      `${this.name}_count${labelText(labels)} ${series.count}`,
    ];
  }
}

/** Seconds, from a millisecond to ten minutes: API calls and the engine calls they make. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];

export class MetricsRegistry {
  readonly #metrics: Metric[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#add(new Counter(name, help, "counter", labelNames));
  }

  gauge(name: string, help: string, read: () => number): Gauge {
    return this.#add(new Gauge(name, help, read));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[] = DURATION_BUCKETS): Histogram {
    return this.#add(new Histogram(name, help, labelNames, buckets));
  }

  /** Every metric, in the text exposition format. */
  render(): string {
    return `${this.#metrics.flatMap((metric) => metric.render()).join("\n")}\n`;
  }

  #add<M extends Metric>(metric: M): M {
    this.#metrics.push(metric);
    return metric;
  }
}
