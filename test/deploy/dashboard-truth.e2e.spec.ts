import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import type { FakeTurn } from '../fakes/fake-turn.js';
import { createGate, type Gate } from '../fakes/gate.js';
import { startOpenAIResponsesFake } from '../fakes/openai-responses.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { TestRedis } from '../support/redis-server.js';
import { ALERTS_FILE, alertQueries, dashboardQueries, readDashboard, type Query } from './support/monitoring-queries.js';
import { ensureRedisServer } from './support/redis.js';
import { repoPath } from './support/repo-files.js';

/**
 * Issue 4, "the dashboard is true": a real Prometheus server (Debian's package, as in
 * scripts/setup-prometheus.sh) scrapes a real piapi process every second while the test drives
 * traffic that should light up every panel; then every panel query of
 * deploy/grafana/piapi-dashboard.json must return data through Prometheus's HTTP API, and every
 * rule of deploy/prometheus/alerts.yaml must load, evaluate and read series piapi really exports.
 *
 * Issue 14: piapi keeps its state in a real redis-server (Debian's, scripts/setup-redis.sh); a
 * user with a requestsPerMinute of 1 gets refused, and at the end Redis stops answering for a
 * moment (SIGSTOP), so the limits row shows refusals, the state store going down and back, and
 * the errors of the outage.
 *
 * Issue 15: a user on a key pool; the upstream answers one of its keys 429 with a retry-after of
 * an hour, so the key pools row shows that key cooling down (and a pool it is the only key of
 * exhausted) for the rest of the test, and attempts by key and outcome show its 429.
 */

const USER = 'ada';
const USER_KEY = 'piapi-user-dashboard-truth-0001';
const PROVIDER = 'alpha';
const PROVIDER_KEY = 'sk-dashboard-truth-provider-0001';
/** The job name the alert rules expect (`up{job="piapi"}`). */
const JOB = 'piapi';
const SCRAPE_INTERVAL = '1s';
/** The stalled upstream runs into this and piapi answers 504 with reason="timeout". */
const HEADERS_TIMEOUT_MS = 2000;
/** Models the fakes echo back, so the token panels' `model` label is predictable. */
const PASS_MODEL = 'claude-pass-through';
const RESPONSES_MODEL = 'gpt-pass-through';
/** A model pi-ai knows for the anthropic provider, so piapi passes it on unchanged. */
const MESSAGES_MODEL = 'claude-sonnet-4-5';
/** Requests held open while Prometheus scrapes: 2 pass-through streams and 1 /v1/messages stream. */
const HELD = { cc: 2, messages: 1 };
/** A second user, allowed 1 request a minute, sends bursts of LIMITED_BURST: the others are refused. */
const LIMITED_USER = 'lin';
const LIMITED_KEY = 'piapi-user-dashboard-truth-0002';
const LIMITED_RPM = 1;
const LIMITED_BURST = 3;
/** Generous for a loaded machine: a Redis call timing out during the traffic would mark the store down. */
const REDIS_TIMEOUT_MS = 1000;
/**
 * A user on the pool `team` of POOL_KEYS; the upstream rate limits `pool-a` for POOL_RETRY_AFTER_S
 * (longer than the test), so its first request fails over to `pool-b` and later ones skip `pool-a`.
 * `pool-a` is also the only key of `solo`, which is exhausted from then on.
 */
const POOL_USER = 'pia';
const POOL_USER_KEY = 'piapi-user-dashboard-truth-0003';
const POOL_KEYS = { 'pool-a': 'sk-dashboard-truth-pool-a-0001', 'pool-b': 'sk-dashboard-truth-pool-b-0002' };
const POOL_RETRY_AFTER_S = 3600;

// ---------------------------------------------------------------------------------------------
// Grafana's variables
// ---------------------------------------------------------------------------------------------

/** `now-6h` → `6h`: Grafana's `$__range` for the dashboard's default time range. */
function dashboardRange(): string {
  const from = (readDashboard() as unknown as { time?: { from?: string } }).time?.from ?? '';
  return /^now-(\d+[smhdwy])$/.exec(from)?.[1] ?? '1h';
}

/**
 * What Grafana puts in place of its variables before a query reaches Prometheus.
 *
 * - `$__rate_interval`: Grafana uses max($__interval + scrape interval, 4 × scrape interval). With
 *   this test's 1 s scrape interval that would be 4 s; we use `1m` instead, the production value
 *   (4 × the 15 s scrape interval of deploy/prometheus/prometheus.yml, the same value
 *   grafana-dashboard.spec.ts checks with promtool). A window longer than the whole test keeps
 *   every series' first and last scrape in it, so a rate is > 0 exactly when the traffic changed a
 *   counter, however slow the machine; a 4 s window would make the value assertions a race
 *   against the clock while proving nothing more about the query.
 * - `$__interval` (the step of a range query): the scrape interval, 1 s.
 * - `$__range`: the dashboard's default time range.
 * - Template variables: the dashboard has only `DS_PROMETHEUS`, a datasource variable used in
 *   `datasource.uid`, never inside PromQL. Any other variable fails here until it gets a value.
 */
const GRAFANA_VARIABLES: Record<string, string> = {
  __rate_interval: '1m',
  __interval: SCRAPE_INTERVAL,
  __interval_ms: '1000',
  __range: dashboardRange(),
  __range_s: String(durationSeconds(dashboardRange())),
  __range_ms: String(durationSeconds(dashboardRange()) * 1000),
};

function durationSeconds(duration: string): number {
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };
  const match = /^(\d+)([smhdwy])$/.exec(duration);
  return match ? Number(match[1]) * unit[match[2]] : 3600;
}

function substituteGrafanaVariables(expr: string): string {
  return expr.replace(/\$(?:\{(\w+)(?::\w+)?\}|(\w+))/g, (_all, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    const value = GRAFANA_VARIABLES[name];
    if (value === undefined) throw new Error(`no test value for Grafana variable $${name} in: ${expr}`);
    return value;
  });
}

// ---------------------------------------------------------------------------------------------
// Prometheus: installation, process and HTTP API
// ---------------------------------------------------------------------------------------------

type PrometheusLookup = { binary: string; skipReason?: undefined } | { binary?: undefined; skipReason: string };

function commandPath(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

/**
 * Runs scripts/setup-prometheus.sh (idempotent; installs Debian's prometheus package when
 * missing) and finds the server binary. In CI any failure throws: the test never skips there.
 */
function ensurePrometheusServer(): PrometheusLookup {
  const inCi = Boolean(process.env.CI);
  try {
    execFileSync('bash', [repoPath('scripts/setup-prometheus.sh')], { stdio: 'pipe', encoding: 'utf8', timeout: 540_000 });
  } catch (err) {
    const output = err instanceof Error && 'stderr' in err ? String(err.stderr) : String(err);
    if (inCi) throw new Error(`scripts/setup-prometheus.sh failed in CI:\n${output}`, { cause: err });
    return { skipReason: `Prometheus is not installed and scripts/setup-prometheus.sh could not install it: ${output.trim()}` };
  }
  const binary = commandPath('prometheus');
  if (binary) return { binary };
  const reason = 'scripts/setup-prometheus.sh ran, but there is no `prometheus` server binary on PATH (only promtool?)';
  if (inCi) throw new Error(reason);
  return { skipReason: reason };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface OwnedProcess {
  child: ChildProcess;
  name: string;
  output: () => string;
}

const exitedAlready = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exitedAlready(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after a deadline; resolves once the process is gone (reaped). */
async function stopProcess({ child, name, output }: OwnedProcess): Promise<void> {
  if (!exitedAlready(child)) {
    child.kill('SIGTERM');
    if (!(await waitForExit(child, 10_000))) {
      child.kill('SIGKILL');
      if (!(await waitForExit(child, 5_000))) throw new Error(`${name} (pid ${child.pid}) survived SIGKILL:\n${output()}`);
    }
  }
  if (isAlive(child.pid)) throw new Error(`${name} (pid ${child.pid}) is still running after it exited`);
}

interface Sample {
  metric: Record<string, string>;
  value: number;
}

interface PromApiResponse<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

type InstantResult =
  | { resultType: 'vector'; result: { metric: Record<string, string>; value: [number, string] }[] }
  | { resultType: 'scalar' | 'string'; result: [number, string] }
  | { resultType: 'matrix'; result: unknown[] };

interface RuleGroup {
  name: string;
  file: string;
  rules: { name: string; type: string; query: string; health: string; lastError?: string; lastEvaluation: string }[];
}

interface Target {
  labels: Record<string, string>;
  health: string;
  lastError: string;
  lastScrape: string;
}

class PrometheusServer implements OwnedProcess {
  constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly output: () => string,
  ) {}

  readonly name = 'prometheus';

  private async api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const res = await fetch(`${this.url}${path}?${new URLSearchParams(params).toString()}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as PromApiResponse<T>;
    if (body.status !== 'success' || body.data === undefined) throw new Error(`${body.errorType ?? res.status}: ${body.error ?? 'no data'}`);
    return body.data;
  }

  /** An instant query (`/api/v1/query`), at `time` (Unix seconds) or now. */
  async query(expr: string, time?: number): Promise<Sample[]> {
    const data = await this.api<InstantResult>('/api/v1/query', { query: expr, ...(time === undefined ? {} : { time: String(time) }) });
    switch (data.resultType) {
      case 'vector':
        return data.result.map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
      case 'scalar':
      case 'string':
        return [{ metric: {}, value: Number(data.result[1]) }];
      case 'matrix':
        throw new Error('returned a range vector, which an instant query cannot plot');
    }
  }

  rules(): Promise<{ groups: RuleGroup[] }> {
    return this.api('/api/v1/rules');
  }

  targets(): Promise<{ activeTargets: Target[] }> {
    return this.api('/api/v1/targets');
  }

  /**
   * Waits for a successful scrape of piapi that started after `afterMs` (so it saw everything
   * done before then) and returns its timestamp in Unix seconds.
   */
  async scrapeAfter(afterMs: number, what: string): Promise<number> {
    let seen = Number.NaN;
    try {
      await until(async () => {
        // timestamp() of a plain selector is the scrape's time (of an expression such as
        // `up == 1` it would be the evaluation time); `and` keeps only successful scrapes.
        const [up] = await this.query(`timestamp(up{job="${JOB}"}) and up{job="${JOB}"} == 1`);
        seen = up?.value ?? Number.NaN;
        // 5 ms margin: Prometheus may align a scrape's timestamp to its schedule by a few ms.
        return seen * 1000 > afterMs + 5;
      }, 20_000);
    } catch (err) {
      const targets = await this.targets().catch((e: unknown) => ({ activeTargets: [], error: String(e) }));
      throw new Error(
        `Prometheus did not scrape piapi after ${what} (last successful scrape ${seen}, wanted > ${afterMs / 1000}):\n` +
          `${JSON.stringify(targets, null, 2)}\n${this.output().slice(-3000)}`,
        { cause: err },
      );
    }
    return seen;
  }
}

async function startPrometheus(binary: string, dir: string, gatewayAddress: string, avoidPorts: number[]): Promise<PrometheusServer> {
  const configFile = join(dir, 'prometheus.yml');
  // Scrape piapi only, every second; evaluate the real alert rules every second. Nothing remote.
  await writeFile(
    configFile,
    stringify({
      global: { scrape_interval: SCRAPE_INTERVAL, scrape_timeout: SCRAPE_INTERVAL, evaluation_interval: SCRAPE_INTERVAL },
      rule_files: [repoPath(ALERTS_FILE)],
      scrape_configs: [{ job_name: JOB, metrics_path: '/metrics', static_configs: [{ targets: [gatewayAddress] }] }],
    }),
  );
  let lastOutput = '';
  // A free port can be taken between the check and Prometheus's bind: try again then.
  for (let attempt = 1; attempt <= 3; attempt++) {
    let port = await freePort();
    while (avoidPorts.includes(port)) port = await freePort();
    const child = spawn(
      binary,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, `tsdb-${attempt}`)}`,
        '--storage.tsdb.retention.time=1h',
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=info',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    killOnExit.add(child);
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const server = new PrometheusServer(child, `http://127.0.0.1:${port}`, () => out);
    try {
      await until(async () => {
        if (exitedAlready(child)) throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode})`);
        const res = await fetch(`${server.url}/-/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        return res?.status === 200;
      }, 30_000);
      return server;
    } catch (err) {
      lastOutput = out;
      await stopProcess(server);
      killOnExit.delete(child);
      if (!/address already in use/.test(out)) throw new Error(`Prometheus did not become ready:\n${out}`, { cause: err });
    }
  }
  throw new Error(`Prometheus could not bind a port in 3 attempts:\n${lastOutput}`);
}

/** Last resort if the worker dies before afterAll: never leave a Prometheus or piapi behind. */
const killOnExit = new Set<ChildProcess>();
const killAllOnExit = () => {
  for (const child of killOnExit) if (!exitedAlready(child)) child.kill('SIGKILL');
};

// ---------------------------------------------------------------------------------------------
// Polling and piapi's own /metrics
// ---------------------------------------------------------------------------------------------

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sum of the series of `name` in piapi's exposition whose labels include `labels`. */
function exposedValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Queries and what they must show
// ---------------------------------------------------------------------------------------------

/** `panel "Title" A` → its query, ready for Prometheus. */
interface PanelQuery extends Query {
  promql: string;
}

const panelQueries: PanelQuery[] = dashboardQueries().map((q) => ({ ...q, promql: substituteGrafanaVariables(q.expr) }));

/** What a query returned that a panel could not plot; undefined when it shows data. */
function noData(samples: Sample[]): string | undefined {
  if (samples.length === 0) return 'empty result (no series)';
  if (!samples.some((s) => Number.isFinite(s.value))) {
    return `only NaN/Inf values: ${samples.map((s) => `${JSON.stringify(s.metric)}=${s.value}`).join(', ')}`;
  }
  return undefined;
}

function describeSamples(samples: Sample[]): string {
  if (samples.length === 0) return '(no series)';
  return samples.map((s) => `${JSON.stringify(s.metric)} = ${s.value}`).join('\n      ');
}

type Check = 'positive' | 'one' | 'finite';
const passes = (check: Check, value: number) =>
  check === 'positive' ? value > 0 : check === 'one' ? value === 1 : Number.isFinite(value);

/**
 * What the traffic below must make each panel show: for every label set listed, a series with
 * those labels and a value that passes the check (`{}`: any series). Keyed by the `source` of
 * monitoring-queries.ts. Rates are > 0 only for counters that existed before a later increment
 * inside the window: the traffic runs in two rounds with a scrape in between for that reason.
 */
const latencyTypes = [{ service_type: 'cc' }, { service_type: 'cx' }, { service_type: 'dead' }, { service_type: 'messages' }];
const firstByteTypes = [{ service_type: 'cc' }, { service_type: 'cx' }, { service_type: 'messages' }];
const SHOWS: Record<string, [Check, Record<string, string>[]]> = {
  'panel "Requests / s" A': ['positive', [{}]],
  'panel "5xx ratio" A': ['positive', [{}]],
  'panel "p95 latency" A': ['positive', [{}]],
  'panel "Instances" A': ['one', [{}]],
  'panel "Config versions" A': ['one', [{}]],
  'panel "Request rate by service type" A': [
    'positive',
    ['cc', 'cx', 'dead', 'messages', 'unknown'].map((service_type) => ({ service_type })),
  ],
  'panel "Error ratio by service type" A': ['positive', [{ service_type: 'cc' }, { service_type: 'dead' }]],
  'panel "Error ratio by service type" B': ['positive', [{ service_type: 'cc' }, { service_type: 'unknown' }]],
  'panel "Requests by status class" A': [
    'positive',
    [
      { service_type: 'cc', status_class: '2xx' },
      { service_type: 'cc', status_class: '4xx' },
      { service_type: 'cc', status_class: '5xx' },
      { service_type: 'cx', status_class: '2xx' },
      { service_type: 'dead', status_class: '5xx' },
      { service_type: 'messages', status_class: '2xx' },
      { service_type: 'unknown', status_class: '4xx' },
    ],
  ],
  'panel "Request latency p50 / p95 / p99" A': ['positive', latencyTypes],
  'panel "Request latency p50 / p95 / p99" B': ['positive', latencyTypes],
  'panel "Request latency p50 / p95 / p99" C': ['positive', latencyTypes],
  'panel "Time to first byte p50 / p95 / p99" A': ['positive', firstByteTypes],
  'panel "Time to first byte p50 / p95 / p99" B': ['positive', firstByteTypes],
  'panel "Time to first byte p50 / p95 / p99" C': ['positive', firstByteTypes],
  'panel "Upstream errors by reason" A': ['positive', ['connect', 'timeout', '5xx', '429'].map((reason) => ({ reason }))],
  'panel "Upstream errors by provider" A': [
    'positive',
    [
      { provider: PROVIDER, service_type: 'dead', reason: 'connect' },
      { provider: PROVIDER, service_type: 'cc', reason: 'timeout' },
      { provider: PROVIDER, service_type: 'cc', reason: '5xx' },
      { provider: PROVIDER, service_type: 'cc', reason: '429' },
    ],
  ],
  'panel "Tokens by user" A': ['positive', [{ user: USER }]],
  'panel "Tokens by model and type" A': [
    'positive',
    [
      ...['input', 'output', 'cache_read', 'cache_write'].map((type) => ({ model: PASS_MODEL, type })),
      ...['input', 'output', 'cache_read', 'cache_write'].map((type) => ({ model: MESSAGES_MODEL, type })),
      { model: RESPONSES_MODEL, type: 'input' },
      { model: RESPONSES_MODEL, type: 'output' },
    ],
  ],
  'panel "Tokens by provider" A': ['positive', ['input', 'output', 'cache_read', 'cache_write'].map((type) => ({ provider: PROVIDER, type }))],
  'panel "Output tokens by user and model" A': [
    'positive',
    [PASS_MODEL, RESPONSES_MODEL, MESSAGES_MODEL].map((model) => ({ user: USER, model })),
  ],
  'panel "Refused requests by user and limit" A': ['positive', [{ user: LIMITED_USER, limit: 'requestsPerMinute' }]],
  'panel "Keys available / cooling down per provider" A': ['one', [{ provider: PROVIDER }]],
  'panel "Keys available / cooling down per provider" B': ['one', [{ provider: PROVIDER }]],
  'panel "Available keys per pool" A': ['one', [{ provider: PROVIDER, pool: 'team' }]],
  'panel "Cooling keys" A': ['positive', [{ provider: PROVIDER, key: 'pool-a' }]],
  'panel "Upstream attempts by key and outcome" A': [
    'positive',
    [
      { provider: PROVIDER, key: 'pool-a', outcome: 'rate_limited' },
      { provider: PROVIDER, key: 'pool-b', outcome: 'ok' },
    ],
  ],
  // Evaluated after the outage: Redis answers again.
  'panel "State store up" A': ['one', [{}]],
  'panel "State store errors by operation" A': ['positive', [{ operation: 'limit_check' }]],
  'panel "Config reloads" A': ['positive', [{ result: 'success' }, { result: 'failure' }]],
  'panel "Config hash per instance" A': ['one', [{}]],
  'panel "Config hash over time" A': ['one', [{}]],
  'panel "Resident memory" A': ['positive', [{ job: JOB }]],
  'panel "CPU" A': ['positive', [{ job: JOB }]],
  'panel "Event loop lag p99" A': ['finite', [{ job: JOB }]],
};

/** The in-flight panels, evaluated at the scrape that saw the held requests. */
const INFLIGHT_SHOWS: Record<string, Record<string, string | number>[]> = {
  'panel "In flight" A': [{ value: HELD.cc + HELD.messages }],
  'panel "In-flight requests" A': [
    { service_type: 'cc', value: HELD.cc },
    { service_type: 'messages', value: HELD.messages },
  ],
};

/** Series no piapi can export: the selectors reading them are allowed to select nothing here. */
const NOT_FROM_PIAPI: { metric: RegExp; why: string }[] = [
  { metric: /^kube_/, why: 'kube-state-metrics series exist only in a Kubernetes cluster that runs kube-state-metrics' },
];

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/**
 * The series selectors of an expression (`name{matchers}`, `name`, `{matchers}`), without their
 * range. Good enough for alerts.yaml (no string arguments outside label matchers).
 */
function selectors(expr: string): string[] {
  const stripped = expr
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const found = new Set<string>();
  for (const m of stripped.matchAll(/([a-zA-Z_:][\w:]*)?\s*(\{[^}]*\})|(?<![\w.])([a-zA-Z_:][\w:]*)\b(?!\s*\()/g)) {
    if (m[2] !== undefined) found.add(`${m[1] ?? ''}${m[2]}`);
    else if (m[3] !== undefined && !PROMQL_KEYWORDS.has(m[3].toLowerCase())) found.add(m[3]);
  }
  return [...found];
}

/**
 * `m{reason=~"connect|timeout"}` → `m{reason="connect"}`, `m{reason="timeout"}`: each literal
 * alternative must select something on its own, or a typo in one of them would go unnoticed.
 */
function expandAlternatives(selector: string): string[] {
  const m = /(\w+)=~"([\w-]+(?:\|[\w-]+)+)"/.exec(selector);
  if (!m) return [selector];
  return m[2]
    .split('|')
    .flatMap((alt) => expandAlternatives(selector.slice(0, m.index) + `${m[1]}="${alt}"` + selector.slice(m.index + m[0].length)));
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

describe('the Grafana dashboard and alert rules against a real Prometheus scraping piapi', () => {
  let skipReason: string | undefined;
  let dir: string | undefined;
  let anthropic: ProviderFake | undefined;
  let responses: ProviderFake | undefined;
  let gateway: GatewayProcess | undefined;
  let prometheus: PrometheusServer | undefined;
  let redis: TestRedis | undefined;
  let configText = '';
  /** Refusals the limited user got in round 1, and in all. */
  let refusedRound1 = 0;
  let refusedInAll = 0;
  /** Scrapes (Unix s) that saw the state store down (Redis stalled), then back. */
  let downScrape = 0;
  let backScrape = 0;
  /** piapi_state_store_errors_total{operation="limit_check"} as piapi exported it at downScrape. */
  let limitCheckErrors = 0;
  /** Opened to let the held streams finish. */
  const hold: Gate = createGate();
  /** Timestamp (Unix s) of Prometheus's first scrape of piapi, before any pooled request. */
  let firstScrape = 0;
  /** Timestamp (Unix s) of the scrape that saw the held requests in flight. */
  let heldScrape = 0;
  /** When the traffic was over and Prometheus had scraped the result (ms), and that scrape (Unix s). */
  let trafficDoneAt = 0;
  let doneScrape = 0;
  const timings: string[] = [];
  let began = Date.now();
  const mark = (what: string) => timings.push(`${what}: ${((Date.now() - began) / 1000).toFixed(1)} s`);

  const gatewayMetrics = async () => (await request(`${gateway!.url}/metrics`)).body.text();
  const inflight = async () => exposedValue(await gatewayMetrics(), 'piapi_inflight_requests');
  /**
   * Every request piapi received is counted: a client sees the end of a response a moment before
   * piapi's `close` handler counts it, so a scrape right after the client is done could miss it.
   */
  const settled = () =>
    until(async () => (await inflight()) === 0, 15_000).catch((err: unknown) => {
      throw new Error(`piapi still has requests in flight:\n${gateway!.output().slice(-2000)}`, { cause: err });
    });

  /** One request through piapi; returns its status and body. */
  const call = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await request(`${gateway!.url}${path}`, {
      method: 'POST',
      headers: { 'x-api-key': USER_KEY, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { path, status: res.statusCode, text: await res.body.text() };
  };
  const passThrough = (marker: string) =>
    call(
      '/piapi/cc/v1/messages',
      { model: PASS_MODEL, max_tokens: 64, stream: true, messages: [{ role: 'user', content: marker }] },
      { 'anthropic-version': '2023-06-01' },
    );
  const viaMessages = (marker: string) =>
    call('/v1/messages', { model: MESSAGES_MODEL, max_tokens: 64, stream: true, messages: [{ role: 'user', content: marker }] });
  /** A pass-through JSON request of the limited user. */
  const limitedRequest = () =>
    call(
      '/piapi/cc/v1/messages',
      { model: PASS_MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'limited user' }] },
      { 'anthropic-version': '2023-06-01', 'x-api-key': LIMITED_KEY },
    );

  /** A pass-through JSON request of the user on the key pool. */
  const poolRequest = () =>
    call(
      '/piapi/cc/v1/messages',
      { model: PASS_MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'pool user' }] },
      { 'anthropic-version': '2023-06-01', 'x-api-key': POOL_USER_KEY },
    );

  /**
   * LIMITED_BURST requests at once from the user allowed LIMITED_RPM a minute. Its window starts
   * with its first request and lasts a minute: at most LIMITED_RPM of a burst get through, and
   * none of the next burst within that minute. Returns how many were refused.
   */
  async function limitedBurst(round: number): Promise<number> {
    const results = await Promise.all(Array.from({ length: LIMITED_BURST }, limitedRequest));
    const refused = results.filter((r) => r.status === 429);
    const wrong = results.filter((r) => r.status !== 429 && r.status !== 200);
    expect(wrong.map((r) => `round ${round}, limited user: ${r.status} ${r.text.slice(0, 300)}`)).toEqual([]);
    expect(refused.length, `round ${round}: refusals of ${LIMITED_BURST} requests at ${LIMITED_RPM}/min`).toBeGreaterThanOrEqual(
      LIMITED_BURST - LIMITED_RPM,
    );
    for (const r of refused) {
      const { error } = JSON.parse(r.text) as { error: { type: string; message: string } };
      expect(error.type).toBe('rate_limit_error');
      expect(error.message).toContain(`requestsPerMinute (${LIMITED_RPM}) reached for user "${LIMITED_USER}"`);
    }
    refusedInAll += refused.length;
    return refused.length;
  }

  /** The value of a series of piapi's own exposition (what the next scrape will see). */
  const exposed = async (name: string, labels: Record<string, string> = {}) => exposedValue(await gatewayMetrics(), name, labels);

  type Sent = [Promise<{ path: string; status: number; text: string }>, string, string];

  /** Requests answered at once (reusing piapi's pooled upstream connections); each with the status class it must get. */
  const fastTraffic = (): Sent[] => [
    [passThrough('hello'), '2', 'pass-through SSE stream with usage'],
    [passThrough('hello again'), '2', 'pass-through SSE stream with usage'],
    [
      call('/piapi/cc/v1/messages', { model: PASS_MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'json please' }] }, { 'anthropic-version': '2023-06-01' }),
      '2',
      'pass-through JSON answer with usage',
    ],
    [call('/piapi/cx/responses', { model: RESPONSES_MODEL, stream: true, input: 'hi' }), '2', 'pass-through Responses SSE stream'],
    [poolRequest(), '2', 'through the key pool (pool-a rate limited, pool-b answers)'],
    [passThrough('please-400'), '4', 'upstream 400'],
    [passThrough('please-429'), '4', 'upstream 429'],
    [passThrough('please-503'), '5', 'upstream 503'],
    [call('/piapi/no-such-type/x', {}), '4', 'unknown service type'],
    [viaMessages('hello'), '2', '/v1/messages stream with usage'],
    [viaMessages('hello again'), '2', '/v1/messages stream with usage'],
  ];

  /** Requests that use no pooled connection: a refused connect, and a timeout (its socket is destroyed). */
  const slowTraffic = (): Sent[] => [
    [passThrough('please-stall'), '5', `upstream silent past headersTimeoutMs (${HEADERS_TIMEOUT_MS} ms)`],
    [call('/piapi/dead/v1/anything', {}), '5', 'upstream connection refused'],
  ];

  async function send(sent: Sent[]): Promise<void> {
    const results = await Promise.all(sent.map(([p]) => p));
    const wrong = results
      .map((r, i) => ({ ...r, want: sent[i][1], what: sent[i][2] }))
      .filter((r) => !String(r.status).startsWith(r.want));
    // piapi's log lines of a wrong answer (by request id) say what went wrong upstream.
    const logOf = (text: string) => {
      const id = /"request_id":"([^"]+)"/.exec(text)?.[1];
      return id ? gateway!.output().split('\n').filter((line) => line.includes(id)).join('\n      ') : '';
    };
    expect(
      wrong.map((r) => `${r.what}: POST ${r.path} → ${r.status}, wanted ${r.want}xx: ${r.text.slice(0, 300)}\n      ${logOf(r.text)}`),
    ).toEqual([]);
  }

  /** A failed reload (invalid YAML), then a successful one (a changed valid config). */
  async function reloadRound(n: number): Promise<void> {
    const count = async (result: string) => exposedValue(await gatewayMetrics(), 'piapi_config_reloads_total', { result });
    const failures = await count('failure');
    await writeFile(join(dir!, 'config.yaml'), 'providers: [\n');
    await until(async () => (await count('failure')) > failures, 15_000).catch((err: unknown) => {
      throw new Error(`piapi did not count the failed reload ${n}:\n${gateway!.output().slice(-2000)}`, { cause: err });
    });
    const successes = await count('success');
    await writeFile(join(dir!, 'config.yaml'), `${configText}# reload ${n}\n`);
    await until(async () => (await count('success')) > successes, 15_000).catch((err: unknown) => {
      throw new Error(`piapi did not count the successful reload ${n}:\n${gateway!.output().slice(-2000)}`, { cause: err });
    });
  }

  beforeAll(async () => {
    began = Date.now();
    const lookup = ensurePrometheusServer();
    if (lookup.skipReason !== undefined) {
      skipReason = lookup.skipReason;
      console.warn(`skipping the dashboard truth test: ${skipReason}`);
      return;
    }
    mark('prometheus installed');
    const redisLookup = ensureRedisServer();
    if (redisLookup.skipReason !== undefined) {
      skipReason = redisLookup.skipReason;
      console.warn(`skipping the dashboard truth test: ${skipReason}`);
      return;
    }
    redis = await TestRedis.start();
    mark('redis started');
    process.once('exit', killAllOnExit);
    dir = await mkdtemp(join(tmpdir(), 'piapi-dashboard-truth-'));

    // One Anthropic fake serves the pass-through type `cc` and the provider's llm (/v1/messages).
    const usage = { inputTokens: 12, outputTokens: 4, cacheReadTokens: 100, cacheWriteTokens: 20 };
    anthropic = await startAnthropicMessagesFake((req): FakeTurn => {
      const text = req.text();
      if (req.headers['x-api-key'] === POOL_KEYS['pool-a']) {
        return { httpError: { status: 429, message: 'rate limited', headers: { 'retry-after': String(POOL_RETRY_AFTER_S) } } };
      }
      if (text.includes('please-400')) return { httpError: { status: 400, message: 'bad request' } };
      if (text.includes('please-429')) return { httpError: { status: 429, message: 'slow down' } };
      if (text.includes('please-503')) return { httpError: { status: 503, message: 'overloaded' } };
      if (text.includes('please-stall')) return { fault: { kind: 'stall-before-headers' } };
      // Held: headers and message_start go out, the rest waits for the gate.
      if (text.includes('please-hold')) {
        const gate = hold;
        return { text: ['held'], usage, pace: { beforeEvent: (i) => (i === 1 ? gate.promise : undefined) } };
      }
      return { text: ['Hello', '!'], usage };
    });
    responses = await startOpenAIResponsesFake({ text: ['Hi'], usage: { inputTokens: 20, outputTokens: 6, cacheReadTokens: 8 } });
    // A port nothing listens on: connecting to it is refused at once.
    const deadPort = await freePort();

    configText = stringify({
      shutdownGraceMs: 2000,
      http: { connectTimeoutMs: 2000, headersTimeoutMs: HEADERS_TIMEOUT_MS, idleTimeoutMs: 60_000 },
      providers: [
        {
          name: PROVIDER,
          apiKeys: { main: PROVIDER_KEY, ...POOL_KEYS },
          keyPools: { team: { keys: ['pool-a', 'pool-b'], strategy: 'fill-first' }, solo: { keys: ['pool-a'] } },
          services: [
            { type: 'cc', baseUrl: anthropic.url, auth: { mode: 'header', name: 'x-api-key' } },
            { type: 'cx', baseUrl: `${responses.url}/v1` },
            { type: 'dead', baseUrl: `http://127.0.0.1:${deadPort}` },
          ],
          llm: { provider: 'anthropic', api: 'anthropic-messages', baseUrl: anthropic.url, defaultModel: 'claude-default-unused' },
        },
      ],
      // Limit counters in Redis, so its health shows in the limits row.
      state: { redis: { url: redis.url, commandTimeoutMs: REDIS_TIMEOUT_MS, onError: 'allow' } },
      users: [
        { name: USER, apiKey: USER_KEY, providerName: PROVIDER, providerKeyName: 'main' },
        { name: LIMITED_USER, apiKey: LIMITED_KEY, providerName: PROVIDER, providerKeyName: 'main', limits: { requestsPerMinute: LIMITED_RPM } },
        { name: POOL_USER, apiKey: POOL_USER_KEY, providerName: PROVIDER, providerKeyName: 'team' },
      ],
    });
    await writeFile(join(dir, 'config.yaml'), configText);
    gateway = await spawnGateway(join(dir, 'config.yaml'), { PIAPI_SHUTDOWN_DELAY_MS: '0' });
    killOnExit.add(gateway.child);

    if (Number(new URL(gateway.url).port) === deadPort) throw new Error(`piapi was given port ${deadPort}, meant to be closed: run again`);
    mark('piapi started');

    // The order keeps every pooled upstream connection of piapi busy or idle for well under 5 s:
    // the fakes are Node servers that close idle connections after 5 s without announcing it
    // (their SSE answers set `connection: keep-alive`, which drops Node's `Keep-Alive: timeout=5`),
    // while piapi keeps them for 30 s, so a request sent just as one closes fails with a 502.
    //
    // Round 1 creates every series: its slow part (no pooled connection) while Prometheus starts
    // (its first scrape waits ~5 s for target discovery), its fast part once Prometheus scrapes.
    // allSettled: never leave a starting Prometheus behind unassigned when something fails.
    const startUp = await Promise.allSettled([
      startPrometheus(lookup.binary, dir, new URL(gateway.url).host, [deadPort]).then(async (server) => {
        prometheus = server;
        mark('prometheus ready');
        firstScrape = await server.scrapeAfter(Date.now(), 'start-up');
        mark('first scrape');
      }),
      send(slowTraffic()),
      reloadRound(1),
    ]);
    for (const result of startUp) if (result.status === 'rejected') throw result.reason;
    await Promise.all([send(fastTraffic()), limitedBurst(1).then((n) => (refusedRound1 = n))]);
    await settled();
    mark('round 1 sent');

    // In flight while Prometheus scrapes: streams whose upstream waits for the gate. That scrape
    // also holds all of round 1.
    const upstreamSeen = anthropic.requests.length;
    const held = [
      ...Array.from({ length: HELD.cc }, () => passThrough('please-hold')),
      ...Array.from({ length: HELD.messages }, () => viaMessages('please-hold')),
    ].map((p) => p.catch((err: unknown) => ({ path: 'held request', status: 0, text: String(err) })));
    try {
      await until(async () => (await inflight()) === HELD.cc + HELD.messages, 15_000);
      await anthropic.waitForRequests(upstreamSeen + HELD.cc + HELD.messages, 15_000);
      heldScrape = await prometheus!.scrapeAfter(Date.now(), 'round 1, holding requests in flight');
      mark('round 1 and in-flight scraped');
    } finally {
      hold.open();
    }
    const finished = await Promise.all(held);
    expect(finished.map((r) => `${r.path} ${r.status}`)).toEqual(
      [...Array<string>(HELD.cc).fill('/piapi/cc/v1/messages'), ...Array<string>(HELD.messages).fill('/v1/messages')].map((p) => `${p} 200`),
    );

    // Round 2 moves every series round 1 created (and Prometheus has scraped), so rates are > 0.
    await Promise.all([send(fastTraffic()), send(slowTraffic()), reloadRound(2), limitedBurst(2)]);
    mark('round 2 sent');
    await settled();
    expect(await exposed('piapi_rate_limited_total', { user: LIMITED_USER, limit: 'requestsPerMinute' })).toBe(refusedInAll);
    expect(await exposed('piapi_state_store_up')).toBe(1);
    doneScrape = await prometheus!.scrapeAfter(Date.now(), 'traffic round 2');
    trafficDoneAt = Date.now();
    mark('traffic done and scraped');

    // The state store outage: Redis stops answering but keeps its connection (SIGSTOP). The
    // limited user's next request waits commandTimeoutMs for its limit check, which fails (a
    // limit_check error), the store is marked down, and onError: allow serves the request.
    redis.pause();
    try {
      const during = await limitedRequest();
      expect(during.status, `limited user while Redis is stalled (onError: allow): ${during.text.slice(0, 300)}`).toBe(200);
      await until(async () => (await exposed('piapi_state_store_up')) === 0, 15_000);
      limitCheckErrors = await exposed('piapi_state_store_errors_total', { operation: 'limit_check' });
      expect(limitCheckErrors).toBeGreaterThan(0);
      downScrape = await prometheus!.scrapeAfter(Date.now(), 'Redis stalled');
      mark('state store down and scraped');
    } finally {
      redis.resume();
    }
    await until(async () => (await exposed('piapi_state_store_up')) === 1, 15_000).catch((err: unknown) => {
      throw new Error(`piapi did not see Redis back:\n${gateway!.output().slice(-2000)}`, { cause: err });
    });
    backScrape = await prometheus!.scrapeAfter(Date.now(), 'Redis back');
    mark('state store back and scraped');
  }, 600_000);

  afterAll(async () => {
    hold.open();
    const stops: Promise<void>[] = [];
    if (prometheus) stops.push(stopProcess(prometheus));
    if (gateway) stops.push(stopProcess({ child: gateway.child, name: 'piapi', output: gateway.output }));
    const results = await Promise.allSettled(stops);
    killAllOnExit();
    process.removeListener('exit', killAllOnExit);
    await Promise.allSettled([anthropic?.close(), responses?.close(), redis?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
    mark('stopped');
    console.info(`dashboard truth timings: ${timings.join(', ')}`);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }, 60_000);

  it('returns data for every panel query of the dashboard', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    // Poll until every panel has data: a rate needs two scrapes of a series inside its window.
    let problems: string[] = [];
    await until(async () => {
      problems = [];
      for (const q of panelQueries) {
        const problem = await prometheus!.query(q.promql).then(noData, (err: Error) => `query failed: ${err.message}`);
        if (problem) problems.push(`${q.source}\n    ${q.promql}\n    → ${problem}`);
      }
      return problems.length === 0;
    }, 20_000).catch(() => undefined);
    expect(panelQueries.length).toBeGreaterThan(0);
    expect(problems, `${problems.length} of ${panelQueries.length} panel queries show no data:\n${problems.join('\n')}`).toEqual([]);
  });

  it('shows in each panel what the traffic did', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    const sources = new Set(panelQueries.map((q) => q.source));
    const stale = [...Object.keys(SHOWS), ...Object.keys(INFLIGHT_SHOWS)].filter((s) => !sources.has(s));
    expect(stale, 'expectations for panels the dashboard no longer has: update SHOWS / INFLIGHT_SHOWS').toEqual([]);

    const problems: string[] = [];
    for (const q of panelQueries) {
      const want = SHOWS[q.source];
      if (!want) continue;
      const [check, labelSets] = want;
      const samples = await prometheus!.query(q.promql);
      for (const labels of labelSets) {
        const ok = samples.some((s) => Object.entries(labels).every(([k, v]) => s.metric[k] === v) && passes(check, s.value));
        if (!ok) problems.push(`${q.source}: no series ${JSON.stringify(labels)} with a ${check} value\n    ${q.promql}\n      ${describeSamples(samples)}`);
      }
    }
    expect(problems, `panels that do not show the traffic sent:\n${problems.join('\n')}`).toEqual([]);
  });

  it('showed the held requests in the in-flight panels while they were open', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    const problems: string[] = [];
    for (const q of panelQueries.filter((p) => INFLIGHT_SHOWS[p.source])) {
      // An instant query at the time of the scrape that saw them: what the panel plotted then.
      const samples = await prometheus!.query(q.promql, heldScrape);
      for (const { value, ...labels } of INFLIGHT_SHOWS[q.source]) {
        const ok = samples.some((s) => Object.entries(labels).every(([k, v]) => s.metric[k] === v) && s.value === value);
        if (!ok) problems.push(`${q.source} at ${heldScrape}: no series ${JSON.stringify(labels)} = ${value}\n    ${q.promql}\n      ${describeSamples(samples)}`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('loads every alert rule into Prometheus and evaluates it against the scraped series without error', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    const expected = alertQueries().map((q) => q.source.replace(/^alert /, ''));
    let rules: RuleGroup['rules'] = [];
    // Evaluated every second; wait for an evaluation after the traffic, which saw all of it.
    await until(async () => {
      rules = (await prometheus!.rules()).groups.flatMap((g) => g.rules);
      return rules.length >= expected.length && rules.every((r) => Date.parse(r.lastEvaluation) > trafficDoneAt);
    }, 20_000).catch(() => undefined);
    expect(rules.map((r) => r.name).sort()).toEqual([...expected].sort());
    const unhealthy = rules.filter((r) => r.health !== 'ok' || Date.parse(r.lastEvaluation) <= trafficDoneAt);
    expect(
      unhealthy.map((r) => `${r.name}: health ${r.health}, last evaluation ${r.lastEvaluation}${r.lastError ? `, error: ${r.lastError}` : ''}`),
    ).toEqual([]);
  });

  it('shows a replica\'s first config reloads in "Config reloads"', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    // At the held scrape piapi had reloaded exactly twice (one failure, one success): both
    // series appeared at 1, a step increase() alone cannot see. Reloads are rare, so a panel
    // blind to each replica's first one would miss most of them.
    const query = panelQueries.find((q) => q.source === 'panel "Config reloads" A');
    expect(query, 'panel "Config reloads" A').toBeDefined();
    const samples = await prometheus!.query(query!.promql, heldScrape);
    // Exactly one each: a series new in the window counts its value once, not also its increase.
    const shown = Object.fromEntries(samples.map((s) => [s.metric.result, s.value]));
    expect(shown, `${query!.source} at ${heldScrape}:\n${query!.promql}\n${describeSamples(samples)}`).toEqual({ success: 1, failure: 1 });
  });

  it('shows a user\'s first refusals in "Refused requests by user and limit", and only the limited user', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    // At the held scrape the limited user's refusal series had appeared in round 1 at its full
    // count (one scrape earlier at most), a step increase() alone cannot see; the panel shows
    // that count, neither less nor more.
    const query = panelQueries.find((q) => q.source === 'panel "Refused requests by user and limit" A');
    expect(query, 'panel "Refused requests by user and limit" A').toBeDefined();
    const samples = await prometheus!.query(query!.promql, heldScrape);
    const described = `${query!.source} at ${heldScrape}:\n${query!.promql}\n${describeSamples(samples)}`;
    expect(samples.map((s) => `${s.metric.user} ${s.metric.limit}`), described).toEqual([`${LIMITED_USER} requestsPerMinute`]);
    expect(samples[0].value, described).toBe(refusedRound1);
    // After round 2 (the series still new in the window): every refusal, each counted once.
    const after = await prometheus!.query(query!.promql, doneScrape);
    expect(after.map((s) => s.value), `${query!.source} at ${doneScrape}:\n${describeSamples(after)}`).toEqual([refusedInAll]);
  });

  it('shows the state store up, down while Redis stalls, and up again in "State store up"', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    const query = panelQueries.find((q) => q.source === 'panel "State store up" A');
    expect(query, 'panel "State store up" A').toBeDefined();
    const shown: Record<string, number[]> = {};
    for (const [when, time] of [['traffic', heldScrape], ['stalled', downScrape], ['back', backScrape]] as const) {
      shown[when] = (await prometheus!.query(query!.promql, time)).map((s) => s.value);
    }
    expect(shown, query!.promql).toEqual({ traffic: [1], stalled: [0], back: [1] });
  });

  it('shows the outage\'s failed limit check in "State store errors by operation", and none before', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    const query = panelQueries.find((q) => q.source === 'panel "State store errors by operation" A');
    expect(query, 'panel "State store errors by operation" A').toBeDefined();
    const before = await prometheus!.query(query!.promql, heldScrape);
    expect(before.filter((s) => s.value > 0), `${query!.promql} at ${heldScrape}:\n${describeSamples(before)}`).toEqual([]);
    const during = await prometheus!.query(query!.promql, downScrape);
    const failed = during.find((s) => s.metric.operation === 'limit_check');
    expect(failed?.value, `${query!.promql} at ${downScrape}:\n${describeSamples(during)}`).toBe(limitCheckErrors);
  });

  it('shows the rate-limited key cooling down in the key pools row, and its 429 among the attempts', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    const queryOf = (source: string) => {
      const query = panelQueries.find((q) => q.source === source);
      expect(query, source).toBeDefined();
      return query!.promql;
    };
    const values = async (source: string, time: number, label: string) =>
      Object.fromEntries((await prometheus!.query(queryOf(source), time)).map((s) => [s.metric[label], s.value]));
    // Before any pooled request every key is available; after round 1 pool-a cools down.
    const available = 'panel "Keys available / cooling down per provider" A';
    const cooling = 'panel "Keys available / cooling down per provider" B';
    const shown = async (time: number) => ({
      available: await values(available, time, 'provider'),
      cooling: await values(cooling, time, 'provider'),
      pools: await values('panel "Available keys per pool" A', time, 'pool'),
      coolingKeys: Object.keys(await values('panel "Cooling keys" A', time, 'key')),
    });
    expect({ before: await shown(firstScrape), after: await shown(heldScrape) }).toEqual({
      before: { available: { [PROVIDER]: 2 }, cooling: { [PROVIDER]: 0 }, pools: { team: 2, solo: 1 }, coolingKeys: [] },
      after: { available: { [PROVIDER]: 1 }, cooling: { [PROVIDER]: 1 }, pools: { team: 1, solo: 0 }, coolingKeys: ['pool-a'] },
    });
    // The seconds until pool-a is free: its retry-after, less the time since round 1.
    const left = (await values('panel "Cooling keys" A', doneScrape, 'key'))['pool-a'];
    expect(left).toBeGreaterThan(POOL_RETRY_AFTER_S - (doneScrape - firstScrape) - 5);
    expect(left).toBeLessThanOrEqual(POOL_RETRY_AFTER_S);
    // Round 1's attempts, each a series new at 1 that a step increase() alone cannot see.
    const attempts = await prometheus!.query(queryOf('panel "Upstream attempts by key and outcome" A'), heldScrape);
    expect(Object.fromEntries(attempts.map((s) => [`${s.metric.key} ${s.metric.outcome}`, s.value]))).toEqual({ 'pool-a rate_limited': 1, 'pool-b ok': 1 });
  });

  it('PiapiKeyPoolExhausted selects the pool whose only key cools down, not the pool with a key left', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    const rule = alertQueries().find((q) => q.source === 'alert PiapiKeyPoolExhausted');
    expect(rule, 'alert PiapiKeyPoolExhausted in alerts.yaml').toBeDefined();
    const at = async (time: number) => (await prometheus!.query(rule!.expr, time)).map((s) => `${s.metric.provider} ${s.metric.pool}`);
    // Whether it fires also needs `for: 5m`; its expression must pick the pool out.
    expect({ before: await at(firstScrape), after: await at(heldScrape), done: await at(doneScrape) }, rule!.expr).toEqual({
      before: [],
      after: [`${PROVIDER} solo`],
      done: [`${PROVIDER} solo`],
    });
  });

  it('PiapiStateStoreDown selects the replica while Redis stalls, and nothing while it answers', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    const rule = alertQueries().find((q) => q.source === 'alert PiapiStateStoreDown');
    expect(rule, 'alert PiapiStateStoreDown in alerts.yaml').toBeDefined();
    const instance = new URL(gateway!.url).host;
    const at = async (time: number) => (await prometheus!.query(rule!.expr, time)).map((s) => `${s.metric.job} ${s.metric.instance}`);
    // Whether it fires also needs `for:` (minutes); its expression must pick the replica out.
    expect({ traffic: await at(heldScrape), stalled: await at(downScrape), back: await at(backScrape) }, rule!.expr).toEqual({
      traffic: [],
      stalled: [`${JOB} ${instance}`],
      back: [],
    });
  });

  it("warns about a replica's first failed config reload (PiapiConfigReloadFailing)", async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    // At the held scrape piapi had failed exactly one reload: its failure series appeared at 1,
    // a step increase() alone cannot see.
    const rule = alertQueries().find((q) => q.source === 'alert PiapiConfigReloadFailing');
    expect(rule, 'alert PiapiConfigReloadFailing in alerts.yaml').toBeDefined();
    const samples = await prometheus!.query(rule!.expr, heldScrape);
    expect(
      samples.map((s) => s.metric.result),
      `PiapiConfigReloadFailing at ${heldScrape}, after the first failed reload:\n${rule!.expr}\n${describeSamples(samples)}`,
    ).toEqual(['failure']);
  });

  it('runs every alert expression through the query API, reading series piapi really exports', async (ctx) => {
    ctx.skip(skipReason !== undefined, skipReason);
    const problems: string[] = [];
    const excused: string[] = [];
    for (const { source, expr } of alertQueries()) {
      // The whole expression: it parses and runs (whether it fires does not matter here).
      const result = await prometheus!.query(expr).then(
        (samples) => `ran, ${samples.length} series`,
        (err: Error) => {
          problems.push(`${source}: ${err.message}\n    ${expr}`);
          return 'failed';
        },
      );
      // Each selector it reads selects something: a typo in a label or value would not.
      for (const selector of selectors(expr).flatMap(expandAlternatives)) {
        const metric = /^[a-zA-Z_:][\w:]*/.exec(selector)?.[0] ?? '';
        const reason = NOT_FROM_PIAPI.find((n) => n.metric.test(metric));
        if (reason) {
          excused.push(`${source}: ${selector} (${reason.why})`);
          continue;
        }
        const samples = await prometheus!.query(selector).catch((err: Error) => err.message);
        if (typeof samples === 'string' || samples.length === 0) {
          problems.push(`${source} (${result}): selector ${selector} selects ${typeof samples === 'string' ? samples : 'no series'}`);
        }
      }
    }
    if (excused.length > 0) console.info(`alert selectors not checked against series:\n  ${excused.join('\n  ')}`);
    expect(problems, problems.join('\n')).toEqual([]);
  });
});
