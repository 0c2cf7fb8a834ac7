import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusClass } from '../../src/observability/metric-names.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { alertQueries, dashboardQueries, labelNames, piapiMetricNames, type Query } from './support/monitoring-queries.js';
import { readRepoFile } from './support/repo-files.js';

/** Labels every scraped series has, from the scrape target rather than the app. */
const TARGET_LABELS = ['job', 'instance'];
const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

const queries: Query[] = [...dashboardQueries(), ...alertQueries()];

/** The metric piapi registers and its label names, for a series name as PromQL uses it. */
function registered(series: string): { labels: string[] } | undefined {
  const exact = register.getSingleMetric(series);
  const metric = exact ?? register.getSingleMetric(series.replace(HISTOGRAM_SERIES, ''));
  if (!metric) return undefined;
  const labels = (metric as unknown as { labelNames: string[] }).labelNames;
  return { labels: exact ? labels : [...labels, ...(series.endsWith('_bucket') ? ['le'] : [])] };
}

describe('dashboard and alert queries against the metrics piapi registers', () => {
  let gw: TestGateway;

  // Booting a gateway registers piapi's metrics in prom-client's registry of this process.
  beforeAll(async () => {
    gw = await startTestGateway(readRepoFile('config/piapi.example.yaml'));
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('read only metrics piapi registers', () => {
    const names = queries.flatMap((q) => piapiMetricNames(q.expr).map((name) => ({ name, source: q.source })));
    expect(names.length).toBeGreaterThan(0);
    for (const { name, source } of names) expect(registered(name), `${source}: ${name}`).toBeDefined();
  });

  it('group and filter only by labels those metrics have', () => {
    for (const { source, expr } of queries) {
      const metrics = piapiMetricNames(expr);
      if (metrics.length === 0) continue; // up{} / kube-state-metrics queries
      const allowed = new Set([...TARGET_LABELS, ...metrics.flatMap((m) => registered(m)?.labels ?? [])]);
      for (const label of labelNames(expr)) expect([...allowed], `${source}: label ${label}`).toContain(label);
    }
  });

  it('take rate() and increase() of counters and histograms only, never of a gauge', () => {
    const windowed = queries.flatMap((q) =>
      [...q.expr.matchAll(/\b(?:rate|increase|irate)\(\s*(piapi_[a-z0-9_]+)/g)].map((m) => ({ source: q.source, series: m[1] })),
    );
    expect(windowed.length).toBeGreaterThan(0);
    for (const { source, series } of windowed) {
      const metric = register.getSingleMetric(series) ?? register.getSingleMetric(series.replace(HISTOGRAM_SERIES, ''));
      expect(['counter', 'histogram'], `${source}: ${series}`).toContain((metric as unknown as { type: string }).type);
    }
    // The state store gauge is read as it is (1 up, 0 down).
    const upReaders = queries.filter((q) => piapiMetricNames(q.expr).includes('piapi_state_store_up'));
    expect(upReaders.map((q) => q.source)).toEqual(expect.arrayContaining(['panel "State store up" A', 'alert PiapiStateStoreDown']));
    expect((register.getSingleMetric('piapi_state_store_up') as unknown as { type: string }).type).toBe('gauge');
  });

  it('match status classes the way piapi names them', () => {
    const used = new Set(queries.flatMap((q) => [...q.expr.matchAll(/status_class="([^"]+)"/g)].map((m) => m[1])));
    expect(used.size).toBeGreaterThan(0);
    const named = new Set([200, 404, 503].map(statusClass));
    for (const value of used) expect([...named]).toContain(value);
  });
});
