import { beforeAll, describe, expect, it } from 'vitest';
import { ensurePromtool, runPromtool, type PromtoolLookup } from './support/promtool.js';
import { readYaml, repoPath } from './support/repo-files.js';

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = readYaml<{ groups: { name: string; rules: AlertRule[] }[] }>('deploy/prometheus/alerts.yaml').groups.flatMap(
  (g) => g.rules,
);
const unitTests = readYaml<{ tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] }>(
  'deploy/prometheus/alerts.test.yaml',
).tests;

describe('Prometheus alert rules', () => {
  it('cover 5xx ratio, config reload failures, upstream down and errors, no ready replica, the state store down and an exhausted key pool', () => {
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'PiapiHigh5xxRatio',
        'PiapiConfigReloadFailing',
        'PiapiUpstreamDown',
        'PiapiUpstreamErrorRateHigh',
        'PiapiNoReadyReplicas',
        'PiapiStateStoreDown',
        'PiapiKeyPoolExhausted',
      ]),
    );
  });

  it('give every alert a severity, a summary and a description', () => {
    for (const rule of rules) {
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
    }
  });

  it('PiapiStateStoreDown: a replica without Redis for minutes, saying what that means for limits and OAuth', () => {
    const rule = rules.find((r) => r.alert === 'PiapiStateStoreDown')!;
    expect(rule.expr).toMatch(/\bpiapi_state_store_up(\{[^}]*\})?\s*== 0\s*$/);
    // A reconnect takes about a second: minutes, not a scrape or two.
    expect(rule.for).toMatch(/^[1-5]m$/);
    const text = `${rule.annotations?.summary} ${rule.annotations?.description}`;
    // Both outage behaviours (state.redis.onError), and the paused OAuth refresh.
    expect(text).toMatch(/limits are not enforced.{0,40}onError: allow/);
    expect(text).toMatch(/refused with 503.{0,40}onError: deny/);
    expect(text).toMatch(/OAuth token refresh is paused/);
    expect(rule.annotations?.summary).toContain('{{ $labels.instance }}');
  });

  it('PiapiKeyPoolExhausted: a pool with no available key on any replica for 5 minutes, naming the provider and the pool', () => {
    const rule = rules.find((r) => r.alert === 'PiapiKeyPoolExhausted')!;
    // Fleet-wide (max over replicas), by pool: one key left anywhere keeps it quiet.
    expect(rule.expr.trim()).toMatch(/^max by \(provider, pool\) \(piapi_key_pool_available_keys(\{[^}]*\})?\) == 0$/);
    expect(rule.for).toBe('5m');
    for (const text of [rule.annotations?.summary, rule.annotations?.description]) {
      expect(text).toContain('{{ $labels.pool }}');
      expect(text).toContain('{{ $labels.provider }}');
    }
    // Where to look next: the status command and the per-key gauge.
    expect(rule.annotations?.description).toMatch(/piapi keys status --url/);
    expect(rule.annotations?.description).toContain('piapi_provider_key_cooldown_seconds');
  });

  it('have a unit test that makes every alert fire', () => {
    const firing = new Set(
      unitTests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
    );
    for (const rule of rules) expect([...firing], rule.alert).toContain(rule.alert);
  });
});

describe('promtool', () => {
  let promtool: PromtoolLookup;

  // In CI this installs Debian's prometheus package when needed and fails rather than skips.
  beforeAll(() => {
    promtool = ensurePromtool();
    if (promtool.skipReason) console.warn(`skipping promtool checks: ${promtool.skipReason}`);
  }, 600_000);

  it('accepts deploy/prometheus/alerts.yaml (promtool check rules)', (ctx) => {
    ctx.skip(!promtool.path, promtool.skipReason);
    const run = runPromtool(promtool.path!, ['check', 'rules', repoPath('deploy/prometheus/alerts.yaml')]);
    expect(run.status, run.output).toBe(0);
  });

  it('accepts deploy/prometheus/prometheus.yml and the rule files it loads (promtool check config)', (ctx) => {
    ctx.skip(!promtool.path, promtool.skipReason);
    const run = runPromtool(promtool.path!, ['check', 'config', repoPath('deploy/prometheus/prometheus.yml')]);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('passes the alert unit tests of deploy/prometheus/alerts.test.yaml (promtool test rules)', (ctx) => {
    ctx.skip(!promtool.path, promtool.skipReason);
    const run = runPromtool(promtool.path!, ['test', 'rules', 'alerts.test.yaml'], repoPath('deploy/prometheus'));
    expect(run.status, run.output).toBe(0);
  });
});
