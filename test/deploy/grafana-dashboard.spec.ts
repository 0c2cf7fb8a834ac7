import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allPanels, dashboardQueries, readDashboard, withGrafanaVariables } from './support/monitoring-queries.js';
import { ensurePromtool, runPromtool, type PromtoolLookup } from './support/promtool.js';

const dashboard = readDashboard();
const panels = allPanels(dashboard);
const queries = dashboardQueries(dashboard);
const DS = '${DS_PROMETHEUS}';

/** Queries of panels whose PromQL matches `pattern`. */
const matching = (pattern: RegExp) => queries.filter((q) => pattern.test(q.expr));

/** The titles of the panels laid out under a row (below it, above the next row). */
function panelsOfRow(title: string): string[] {
  const rows = panels.filter((p) => p.type === 'row').sort((a, b) => a.gridPos.y - b.gridPos.y);
  const row = rows.find((r) => r.title === title);
  if (!row) return [];
  const next = rows.find((r) => r.gridPos.y > row.gridPos.y)?.gridPos.y ?? Infinity;
  return panels.filter((p) => p.type !== 'row' && p.gridPos.y > row.gridPos.y && p.gridPos.y < next).map((p) => p.title);
}

/** The query expressions of the panel with this title. */
const queriesOf = (title: string) => queries.filter((q) => q.source.startsWith(`panel "${title}" `)).map((q) => q.expr);

describe('Grafana dashboard', () => {
  it('selects its Prometheus datasource through the DS_PROMETHEUS variable', () => {
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', query: 'prometheus' }),
    );
    // __inputs would make provisioning leave ${DS_PROMETHEUS} unresolved.
    expect(dashboard.__inputs).toBeUndefined();
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: DS });
      for (const target of panel.targets ?? []) expect(target.datasource, panel.title).toEqual({ type: 'prometheus', uid: DS });
    }
  });

  it('has a stable uid, unique panel ids and panels inside the 24-column grid', () => {
    expect(dashboard.uid).toBe('piapi-gateway');
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { gridPos, title } of panels) expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
  });

  it('gives every non-row panel at least one query', () => {
    for (const panel of panels.filter((p) => p.type !== 'row')) expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
  });

  it('uses $__rate_interval for every rate and increase window', () => {
    for (const { source, expr } of queries) {
      for (const window of expr.matchAll(/\b(?:rate|increase|irate)\(\s*[^[]*\[([^\]]+)\]/g)) {
        expect(window[1], source).toBe('$__rate_interval');
      }
    }
  });

  it('shows request rate and error ratio by service type', () => {
    expect(matching(/sum by \(service_type\) \(rate\(piapi_requests_total\[/)).not.toHaveLength(0);
    expect(matching(/status_class="5xx".*\/.*piapi_requests_total/)).not.toHaveLength(0);
  });

  it('shows latency p50, p95 and p99 from the latency histogram', () => {
    for (const q of ['0.5', '0.95', '0.99']) {
      expect(
        matching(new RegExp(`histogram_quantile\\(${q}, sum by \\(le, service_type\\) \\(rate\\(piapi_request_latency_seconds_bucket`)),
        q,
      ).toHaveLength(1);
    }
  });

  it('shows time to first byte, in-flight requests and upstream errors by reason', () => {
    expect(matching(/histogram_quantile\(.*piapi_stream_first_byte_seconds_bucket/)).not.toHaveLength(0);
    expect(matching(/piapi_inflight_requests/)).not.toHaveLength(0);
    expect(matching(/sum by \([^)]*\breason\b[^)]*\) \(rate\(piapi_upstream_errors_total/)).not.toHaveLength(0);
  });

  it('shows tokens by user and by model', () => {
    expect(matching(/sum by \(user\) \(rate\(piapi_tokens_total/)).not.toHaveLength(0);
    expect(matching(/sum by \([^)]*\bmodel\b[^)]*\) \(rate\(piapi_tokens_total/)).not.toHaveLength(0);
  });

  it('has a limits row: refusals by user and limit, state store up per instance, state store errors by operation', () => {
    const row = panelsOfRow('Limits and state store');
    expect(row).toEqual(['Refused requests by user and limit', 'State store up', 'State store errors by operation']);
    expect(queriesOf('Refused requests by user and limit')).toEqual([
      expect.stringMatching(/^sum by \(user, limit\) \(.*\bincrease\(piapi_rate_limited_total\[/),
    ]);
    expect(queriesOf('State store up')).toEqual([expect.stringMatching(/^min by \(instance\) \(piapi_state_store_up\)$/)]);
    expect(queriesOf('State store errors by operation')).toEqual([
      expect.stringMatching(/^sum by \(operation\) \(.*\bincrease\(piapi_state_store_errors_total\[/),
    ]);
  });

  it('has a key pools row: keys available and cooling per provider, available keys per pool, the cooling keys, attempts by key and outcome', () => {
    expect(panelsOfRow('Key pools')).toEqual([
      'Keys available / cooling down per provider',
      'Available keys per pool',
      'Cooling keys',
      'Upstream attempts by key and outcome',
    ]);
    // A key is counted once per provider however many replicas export it: available on all, or cooling on one.
    expect(queriesOf('Keys available / cooling down per provider')).toEqual([
      'sum by (provider) (min by (provider, key) (piapi_provider_key_available))',
      'sum by (provider) (max by (provider, key) (1 - piapi_provider_key_available))',
    ]);
    // The same aggregation as PiapiKeyPoolExhausted, so the panel's 0 is the alert's.
    expect(queriesOf('Available keys per pool')).toEqual(['max by (provider, pool) (piapi_key_pool_available_keys)']);
    expect(queriesOf('Cooling keys')).toEqual(['max by (provider, key) (piapi_provider_key_cooldown_seconds) > 0']);
    const table = panels.find((p) => p.title === 'Cooling keys') as unknown as { type: string; targets: { instant?: boolean; format?: string }[] };
    expect([table.type, table.targets[0].instant, table.targets[0].format]).toEqual(['table', true, 'table']);
    expect(queriesOf('Upstream attempts by key and outcome')).toEqual([expect.stringMatching(/^sum by \(provider, key, outcome\) \(.*\bincrease\(piapi_upstream_attempts_total\[/)]);
  });

  it("counts a series new in the window by its value, where a counter's series appears already at 1", () => {
    // A user's first refusal, a replica's first Redis error or config reload create their series
    // at 1, a step increase() alone cannot see. A series new in the window shows its value (all
    // of it happened in the window), an older one its increase; never both added (double count).
    // So do a key's first rate_limited (or any other) attempt: one 429 cools the key, the next attempt may be minutes away.
    for (const metric of ['piapi_rate_limited_total', 'piapi_state_store_errors_total', 'piapi_config_reloads_total', 'piapi_upstream_attempts_total']) {
      const newOrIncrease = `((${metric} unless ${metric} offset $__rate_interval) or increase(${metric}[$__rate_interval]))`;
      expect(queries.filter((q) => q.expr.endsWith(` ${newOrIncrease}`)).map((q) => q.source), metric).toHaveLength(1);
    }
  });

  it('shows config reloads by result and the config hash of each instance', () => {
    expect(matching(/sum by \(result\) \(.*\bincrease\(piapi_config_reloads_total/)).not.toHaveLength(0);
    expect(matching(/by \(instance, hash\) \(piapi_config_info\)/)).not.toHaveLength(0);
  });
});

describe('Grafana dashboard queries in promtool', () => {
  let promtool: PromtoolLookup;
  let dir: string;

  // In CI this installs Debian's prometheus package when needed and fails rather than skips.
  beforeAll(() => {
    promtool = ensurePromtool();
    if (promtool.skipReason) console.warn(`skipping promtool checks: ${promtool.skipReason}`);
    dir = mkdtempSync(join(tmpdir(), 'piapi-dashboard-'));
  }, 600_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parse as valid PromQL once Grafana has substituted $__rate_interval', (ctx) => {
    ctx.skip(!promtool.path, promtool.skipReason);
    // promtool parses every rule's expression: one recording rule per panel query.
    const rules = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: withGrafanaVariables(q.expr) }));
    const file = join(dir, 'dashboard-queries.rules.yaml');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    const run = runPromtool(promtool.path!, ['check', 'rules', file]);
    const failing = run.output.match(/dashboard:query_\d+/g)?.map((r) => queries[Number(r.split('_').at(-1))].source);
    expect(run.status, `${run.output}\n${failing?.join('\n') ?? ''}`).toBe(0);
    expect(run.output).toContain(`SUCCESS: ${queries.length} rules found`);
  });
});
