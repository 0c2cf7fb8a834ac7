import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BoundHistogram, BoundValues, registeredMetric } from './bound-series.js';
import { LATENCY_BUCKETS } from './metric-names.js';

const HELP = 'help text';

/** The same observations, through prom-client's metrics and through bound series. */
function bothWays() {
  const reference = new Registry();
  const counter = new Counter({ name: 't_requests_total', help: HELP, labelNames: ['service_type', 'status_class'], registers: [reference] });
  const gauge = new Gauge({ name: 't_inflight', help: HELP, labelNames: ['service_type'], registers: [reference] });
  const histogram = new Histogram({ name: 't_latency_seconds', help: HELP, labelNames: ['service_type'], buckets: LATENCY_BUCKETS, registers: [reference] });

  const bound = new Registry();
  const boundCounter = new BoundValues('counter', 't_requests_total', HELP, ['service_type', 'status_class']);
  const boundGauge = new BoundValues('gauge', 't_inflight', HELP, ['service_type']);
  const boundHistogram = new BoundHistogram('t_latency_seconds', HELP, ['service_type'], LATENCY_BUCKETS);
  for (const metric of [boundCounter, boundGauge, boundHistogram]) bound.registerMetric(metric as unknown as Metric);

  const observe = (type: string, status: string, seconds: number) => {
    counter.inc({ service_type: type, status_class: status });
    boundCounter.series({ service_type: type, status_class: status }).value++;
    gauge.inc({ service_type: type });
    boundGauge.series({ service_type: type }).value++;
    histogram.observe({ service_type: type }, seconds);
    boundHistogram.series({ service_type: type }).observe(seconds);
  };
  return { reference, bound, observe, gauge, boundGauge };
}

// On a bound, between bounds, below the first, above the last, zero.
const SAMPLES: [string, string, number][] = [
  ['cc', '2xx', 0.005],
  ['cc', '2xx', 0.0049],
  ['cc', '4xx', 0.2],
  ['cx', '2xx', 600],
  ['cx', '5xx', 601],
  ['cx', '2xx', 0],
  ['messages', '2xx', 1.5],
  ['cc', '2xx', 30],
];

describe('bound series', () => {
  it('render exactly as prom-client renders its counters, gauges and histograms', async () => {
    const { reference, bound, observe, gauge, boundGauge } = bothWays();
    for (const [type, status, seconds] of SAMPLES) observe(type, status, seconds);
    gauge.dec({ service_type: 'cc' });
    boundGauge.series({ service_type: 'cc' }).value--;
    const text = await bound.metrics();
    expect(text).toBe(await reference.metrics());
    expect(text).toContain('t_latency_seconds_bucket{le="0.005",service_type="cc"} 2');
    expect(text).toContain('t_latency_seconds_bucket{le="+Inf",service_type="cx"} 3');
  });

  it('are summed over workers as prom-client sums its own', async () => {
    const a = bothWays();
    const b = bothWays();
    for (const [type, status, seconds] of SAMPLES.slice(0, 5)) a.observe(type, status, seconds);
    for (const [type, status, seconds] of SAMPLES.slice(3)) b.observe(type, status, seconds);
    const summed = async (which: 'reference' | 'bound') =>
      AggregatorRegistry.aggregate([await a[which].getMetricsAsJSON(), await b[which].getMetricsAsJSON()]).metrics();
    const text = await summed('bound');
    expect(text).toBe(await summed('reference'));
    expect(text).toContain('t_requests_total{service_type="cx",status_class="2xx"} 3');
  });

  it('ignore a value that is not a finite number instead of poisoning the sum', async () => {
    const histogram = new BoundHistogram('t_h', HELP, ['service_type'], [1]);
    const series = histogram.series({ service_type: 'cc' });
    series.observe(Number.NaN);
    series.observe(Number.POSITIVE_INFINITY);
    series.observe(0.5);
    const { values } = await histogram.get();
    expect(values.map((v) => [v.metricName, v.value])).toEqual([
      ['t_h_bucket', 1],
      ['t_h_bucket', 1],
      ['t_h_sum', 0.5],
      ['t_h_count', 1],
    ]);
  });

  it('bind a label set once, refuse a missing label, and zero in place on reset', async () => {
    const counter = new BoundValues('counter', 't_c_total', HELP, ['user', 'type']);
    const series = counter.series({ user: 'a', type: 'input' });
    expect(counter.series({ user: 'a', type: 'input' })).toBe(series);
    expect(counter.series({ user: 'a:1', type: 'b' })).not.toBe(counter.series({ user: 'a', type: '1:b' }));
    expect(() => counter.series({ user: 'a' } as { user: string; type: string })).toThrow(/label "type" is missing/);
    series.value += 5;
    counter.reset();
    series.value += 2;
    expect((await counter.get()).values.find((v) => v.labels.user === 'a')?.value).toBe(2);
  });

  it('are registered once per name in the default registry, and never over another kind of metric', () => {
    const first = registeredMetric(new BoundValues('counter', 't_once_total', HELP, ['x']));
    expect(registeredMetric(new BoundValues('counter', 't_once_total', HELP, ['x']))).toBe(first);
    expect(() => registeredMetric(new BoundValues('gauge', 't_once_total', HELP, ['x']))).toThrow(/another kind/);
    expect(() => registeredMetric(new BoundHistogram('t_once_total', HELP, ['x'], [1]))).toThrow(/another kind/);
  });
});
