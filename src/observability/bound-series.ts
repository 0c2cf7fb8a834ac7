import { register, type Metric } from 'prom-client';

/**
 * Counters, gauges and histograms whose series are bound once and then updated with a few
 * additions. prom-client builds a label hash string, validates the labels and looks the series
 * up on every `inc`/`observe` (a proxied request's five such calls: ~2 µs in a microbench, 4.2 µs
 * of its CPU in the pass-through profile, bench/RESULTS.md). The per-request metrics use these;
 * the rare ones stay prom-client metrics.
 *
 * Each metric speaks prom-client's metric interface (`name`, `help`, `type`, `aggregator`,
 * `get()`, `reset()`, the shape of `get()`'s values), so prom-client's registry still renders it,
 * and its AggregatorRegistry sums it over the workers of `--workers`. bound-series.spec.ts holds
 * the rendering byte for byte against prom-client's own metrics.
 */

type LabelValues<L extends string> = Readonly<Record<L, string>>;

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

abstract class BoundMetric<L extends string, S> {
  readonly aggregator = 'sum';
  private readonly bound = new Map<string, { labels: LabelValues<L>; series: S }>();

  constructor(
    readonly type: 'counter' | 'gauge' | 'histogram',
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
  ) {}

  /**
   * The series of these label values, made on first use. Callers keep it (one lookup per label
   * set, not per request); label values must come from bounded sets.
   */
  series(labels: LabelValues<L>): S {
    let key = '';
    for (const name of this.labelNames) {
      const value = labels[name];
      if (typeof value !== 'string') throw new Error(`${this.name}: label "${name}" is missing`);
      key += `${value.length}:${value}`; // length-prefixed: no two label sets share a key
    }
    let entry = this.bound.get(key);
    if (!entry) this.bound.set(key, (entry = { labels: { ...labels }, series: this.newSeries() }));
    return entry.series;
  }

  /** Zeroes every series in place: callers may hold them. */
  reset(): void {
    for (const entry of this.bound.values()) this.zero(entry.series);
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: MetricValue[] }> {
    const values: MetricValue[] = [];
    for (const { labels, series } of this.bound.values()) this.values(labels, series, values);
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  protected abstract newSeries(): S;
  protected abstract zero(series: S): void;
  protected abstract values(labels: LabelValues<L>, series: S, into: MetricValue[]): void;
}

/** One counter or gauge series: a number callers add to. */
export interface ValueSeries {
  value: number;
}

/** A counter (`type` counter) or a gauge. */
export class BoundValues<L extends string> extends BoundMetric<L, ValueSeries> {
  protected newSeries(): ValueSeries {
    return { value: 0 };
  }
  protected zero(series: ValueSeries): void {
    series.value = 0;
  }
  protected values(labels: LabelValues<L>, series: ValueSeries, into: MetricValue[]): void {
    into.push({ value: series.value, labels: { ...labels } });
  }
}

export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot is above the largest bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

export class BoundHistogram<L extends string> extends BoundMetric<L, HistogramSeries> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    readonly upperBounds: readonly number[],
  ) {
    super('histogram', name, help, labelNames);
  }

  protected newSeries(): HistogramSeries {
    return new HistogramSeries(this.upperBounds);
  }
  protected zero(series: HistogramSeries): void {
    series.counts.fill(0);
    series.sum = 0;
    series.count = 0;
  }
  protected values(labels: LabelValues<L>, series: HistogramSeries, into: MetricValue[]): void {
    const bucket = `${this.name}_bucket`;
    let cumulative = 0;
    this.upperBounds.forEach((le, i) => {
      cumulative += series.counts[i];
      into.push({ value: cumulative, labels: { le, ...labels }, metricName: bucket });
    });
    into.push({ value: series.count, labels: { le: '+Inf', ...labels }, metricName: bucket });
    into.push({ value: series.sum, labels: { ...labels }, metricName: `${this.name}_sum` });
    into.push({ value: series.count, labels: { ...labels }, metricName: `${this.name}_count` });
  }
}

/**
 * The metric of that name in prom-client's default registry, registered on first call. Several
 * gateways in one process (the tests) share it, as they share @willsoto/nestjs-prometheus's.
 */
export function registeredMetric<M extends BoundMetric<string, unknown>>(metric: M): M {
  const existing = register.getSingleMetric(metric.name) as unknown;
  if (existing) {
    if (!(existing instanceof metric.constructor) || (existing as M).type !== metric.type) throw new Error(`${metric.name} is already registered as another kind of metric`);
    return existing as M;
  }
  register.registerMetric(metric as unknown as Metric);
  return metric;
}
