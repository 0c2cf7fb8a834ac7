/**
 * Soak: steady load through the pass-through proxy and /v1/messages for `--minutes`, with an
 * upstream fault injected every few seconds, against a real gateway process. Reports errors by
 * kind, the gateway's RSS and handles at start / middle / end, and every scrape interval whose
 * event loop delay passed 100 ms. Loopback only; bounded by rate × duration.
 *
 *   npm run soak -- --minutes 10 --rate 50 --fault-every 3 [--json soak.json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { startAnthropicMessagesFake } from '../test/fakes/anthropic-messages.fake.js';
import type { FakeTurn } from '../test/fakes/fake-turn.js';
import { startFakeUpstream, type RecordedRequest } from '../test/fakes/fake-upstream.js';
import { startOpenAIResponsesFake } from '../test/fakes/openai-responses.fake.js';
import { sendJson, sendSse, type StreamFault } from '../test/fakes/sse-stream.js';
import { checkAnthropicStream } from '../test/fixtures/messages/anthropic-stream-checker.js';
import type { AnthropicStreamEvent } from '../src/messages/anthropic/anthropic-events.js';
import { freePort } from '../test/support/free-port.js';

const USAGE = `usage: npm run soak -- [--minutes 10] [--rate 50] [--fault-every 3] [--json <file>]

  --minutes <n>      how long the load runs (default 10)
  --rate <n>         requests started per second, all kinds together (default 50)
  --fault-every <s>  seconds between two injected faults (default 3)
  --json <file>      also write the figures as JSON`;

const BIN = fileURLToPath(new URL('../bin/piapi.js', import.meta.url));
const KEYS = { pt: 'piapi-user-soak-passthrough-01', anth: 'piapi-user-soak-anthropic-001', oai: 'piapi-user-soak-responses-001' };
const REQUEST_TIMEOUT_MS = 20_000;
const MAX_IN_FLIGHT = 400;
const LAG_LIMIT_S = 0.1;
const GC_ON_SIGUSR2 = 'data:text/javascript,process.on("SIGUSR2",()=>globalThis.gc())';

type Kind = 'pt-json' | 'pt-sse' | 'msg-anth-stream' | 'msg-oai-stream' | 'msg-oai-json';
const KINDS: Kind[] = ['pt-json', 'pt-sse', 'msg-anth-stream', 'msg-oai-stream', 'msg-oai-json'];

type Fault = 'reset' | 'stall-before-headers' | 'stall' | 'http-500' | 'http-429' | 'http-529' | 'end-early' | 'refused' | 'client-abort';
const FAULTS: Fault[] = ['reset', 'stall-before-headers', 'stall', 'http-500', 'http-429', 'http-529', 'end-early', 'refused', 'client-abort'];

interface Options {
  minutes: number;
  rate: number;
  faultEverySec: number;
  json?: string;
}

function parseOptions(): Options | undefined {
  const { values } = parseArgs({
    options: { minutes: { type: 'string' }, rate: { type: 'string' }, 'fault-every': { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) return undefined;
  const number = (v: string | undefined, fallback: number) => {
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`not a positive number: ${v}`);
    return n;
  };
  return { minutes: number(values.minutes, 10), rate: number(values.rate, 50), faultEverySec: number(values['fault-every'], 3), json: values.json };
}

// ---- upstream faults ---------------------------------------------------------------------

/**
 * Faults waiting to hit the next request of each upstream (and request shape); each is used
 * once. Pass-through JSON and SSE take turns receiving them (pi-ai streams every upstream call, so
 * the LLM fakes cannot tell the gateway's stream and non-stream requests apart).
 */
const armed = { ptJson: [] as Fault[], ptSse: [] as Fault[], anth: [] as Fault[], oai: [] as Fault[] };
const injected = new Map<string, number>();
/** Upstream exchanges whose response neither finished nor lost its connection. */
let openExchanges = 0;

function track(req: RecordedRequest): void {
  openExchanges++;
  void req.closed.then(() => openExchanges--);
}

function take(queue: Fault[], upstream: string): Fault | undefined {
  const fault = queue.shift();
  if (fault) injected.set(`${upstream} ${fault}`, (injected.get(`${upstream} ${fault}`) ?? 0) + 1);
  return fault;
}

const NO_RETRY = { 'x-should-retry': 'false' };

function llmTurn(fault: Fault | undefined): FakeTurn {
  const text = ['The ', 'answer ', 'is ', '42.'];
  switch (fault) {
    case 'reset':
      return { text, fault: { kind: 'reset', afterEvents: 3 } };
    case 'stall-before-headers':
      return { text, fault: { kind: 'stall-before-headers' } };
    case 'stall':
      return { text, fault: { kind: 'stall', afterEvents: 3 } };
    case 'end-early':
      return { text, fault: { kind: 'end', afterEvents: 4 } };
    case 'http-500':
      return { httpError: { status: 500, message: 'soak: internal error', headers: NO_RETRY } };
    case 'http-429':
      return { httpError: { status: 429, message: 'soak: rate limited', headers: NO_RETRY } };
    case 'http-529':
      return { httpError: { status: 529, message: 'soak: overloaded', headers: NO_RETRY } };
    default:
      return { text, usage: { inputTokens: 20, outputTokens: 4 } };
  }
}

const SSE_EVENTS = Array.from({ length: 10 }, (_, i) => ({ event: 'tick', data: JSON.stringify({ n: i + 1 }) }));

async function passThroughAnswer(req: RecordedRequest, res: ServerResponse): Promise<void> {
  track(req);
  const sse = req.path.endsWith('/stream');
  const fault = sse ? take(armed.ptSse, 'pass-through sse') : take(armed.ptJson, 'pass-through json');
  const streamFault: StreamFault | undefined =
    fault === 'reset' ? { kind: 'reset', afterEvents: 3 } : fault === 'stall' ? { kind: 'stall', afterEvents: 3 } : fault === 'stall-before-headers' ? { kind: 'stall-before-headers' } : fault === 'end-early' ? { kind: 'close', afterEvents: 3 } : undefined;
  const status = fault === 'http-500' ? 500 : fault === 'http-429' ? 429 : fault === 'http-529' ? 529 : 200;
  if (sse && status === 200) return sendSse(res, [...SSE_EVENTS, { event: 'done', data: '{}' }], { fault: streamFault, pace: { delayMs: 10 } });
  return sendJson(res, status === 200 ? { ok: true, usage: { input_tokens: 5, output_tokens: 5 } } : { error: { message: `soak ${status}` } }, { status, fault: streamFault });
}

// ---- gateway process ---------------------------------------------------------------------

async function spawnGateway(configPath: string, logPath: string): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const { openSync } = await import('node:fs');
  const log = openSync(logPath, 'w');
  // SIGUSR2 makes the gateway run a full GC, so the start / middle / end figures compare what is
  // really retained rather than where V8's heap happened to be in its sawtooth.
  const child = spawn(process.execPath, ['--expose-gc', '--import', GC_ON_SIGUSR2, BIN, 'start', '--config', configPath, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', log, 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${err}`)), 30_000);
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      const match = /piapi listening on (http:\/\/\S+)/.exec(err);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then((code) => reject(new Error(`gateway exited (${code}):\n${err}`)));
  });
  return { child, url, exited };
}

interface Sample {
  atS: number;
  rssMiB: number;
  fds: number;
  activeHandles: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  /** GC time in the gateway since the previous sample. */
  gcMs: number;
  /** The machine's 1-minute load average (other processes compete for the 2 cores too). */
  load1: number;
  lagMaxMs: number;
  lagP99Ms: number;
  /** Gateway CPU use since the previous sample, in % of one core. */
  cpuPct: number;
  inflight: number;
}

let lastCpu = { atMs: 0, ticks: 0 };
let lastGcS = 0;
function cpuPercent(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const now = Date.now();
  // Linux clock ticks are 100 per second.
  const pct = lastCpu.atMs === 0 ? 0 : ((ticks - lastCpu.ticks) * 10 * 100) / (now - lastCpu.atMs);
  lastCpu = { atMs: now, ticks };
  return pct;
}

function metric(text: string, name: string): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      found = true;
    }
  }
  return found ? sum : Number.NaN;
}

function gcDelta(totalS: number): number {
  const delta = (totalS - lastGcS) * 1000;
  lastGcS = totalS;
  return delta;
}

async function sample(url: string, pid: number, startedAt: number, dispatcher: Agent): Promise<Sample> {
  const res = await request(`${url}/metrics`, { dispatcher, headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await res.body.text();
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    atS: Math.round((Date.now() - startedAt) / 1000),
    rssMiB: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024,
    fds: readdirSync(`/proc/${pid}/fd`).length,
    activeHandles: metric(text, 'nodejs_active_handles'),
    heapUsedMiB: metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    heapTotalMiB: metric(text, 'nodejs_heap_size_total_bytes') / 2 ** 20,
    externalMiB: metric(text, 'nodejs_external_memory_bytes') / 2 ** 20,
    gcMs: gcDelta(metric(text, 'nodejs_gc_duration_seconds_sum')),
    load1: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
    // prom-client resets its event loop histogram at every scrape: this is the max since the last one.
    lagMaxMs: metric(text, 'nodejs_eventloop_lag_max_seconds') * 1000,
    lagP99Ms: metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
    cpuPct: cpuPercent(pid),
    inflight: metric(text, 'piapi_inflight_requests'),
  };
}

// ---- load --------------------------------------------------------------------------------

const outcomes = new Map<string, number>();
function count(kind: Kind, outcome: string): void {
  const key = `${kind.padEnd(16)} ${outcome}`;
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
}

function sseOutcome(text: string): string {
  const frames = text.split(/\n\n+/).filter((f) => f.trim() !== '');
  const last = frames.at(-1) ?? '';
  if (/^event: error/m.test(last)) {
    const type = /"type":"(\w+_error)"/.exec(last)?.[1] ?? 'error';
    return `sse error event (${type})`;
  }
  return 'ended without error event';
}

function anthropicStreamProblems(text: string): string[] {
  try {
    const events = text
      .split(/\n\n+/)
      .map((f) => /^data: (.*)$/m.exec(f)?.[1])
      .filter((d): d is string => d !== undefined)
      .map((d) => JSON.parse(d) as AnthropicStreamEvent);
    return checkAnthropicStream(events);
  } catch (err) {
    return [`unparseable: ${(err as Error).message}`];
  }
}

async function fire(kind: Kind, gateway: string, dispatcher: Agent, abortMidway: boolean): Promise<void> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('client timeout')), REQUEST_TIMEOUT_MS);
  const messages = (key: string, stream: boolean) => ({
    method: 'POST' as const,
    path: '/v1/messages',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 256, stream, messages: [{ role: 'user', content: 'What is the answer?' }] }),
  });
  const spec =
    kind === 'pt-json'
      ? { method: 'POST' as const, path: '/piapi/cx/v1/responses', headers: { authorization: `Bearer ${KEYS.pt}`, 'content-type': 'application/json' }, body: '{"input":"hi"}' }
      : kind === 'pt-sse'
        ? { method: 'GET' as const, path: '/piapi/cx/v1/stream', headers: { authorization: `Bearer ${KEYS.pt}`, accept: 'text/event-stream' }, body: undefined }
        : kind === 'msg-anth-stream'
          ? messages(KEYS.anth, true)
          : messages(KEYS.oai, kind === 'msg-oai-stream');
  try {
    const res = await request(`${gateway}${spec.path}`, { method: spec.method, headers: spec.headers, body: spec.body, dispatcher, signal: controller.signal });
    if (abortMidway) {
      for await (const _chunk of res.body) break;
      controller.abort(new Error('client abort'));
      count(kind, 'client abort (injected)');
      return;
    }
    const text = await res.body.text();
    const stream = kind === 'pt-sse' || kind.endsWith('-stream');
    if (res.statusCode !== 200) {
      const json = (() => {
        try {
          return JSON.parse(text) as { request_id?: string };
        } catch {
          return undefined;
        }
      })();
      // Pass-through relays upstream error bodies as they are; gateway errors carry a request id.
      count(kind, `http ${res.statusCode}${json?.request_id || kind.startsWith('pt') ? '' : ' (malformed body)'}`);
      return;
    }
    if (!stream) {
      count(kind, 'ok');
      return;
    }
    if (kind === 'pt-sse') {
      count(kind, text.includes('event: done') ? 'ok' : sseOutcome(text));
      return;
    }
    const problems = anthropicStreamProblems(text);
    if (problems.length > 0) count(kind, `MALFORMED stream: ${problems[0]}`);
    else count(kind, text.includes('event: message_stop') ? 'ok' : sseOutcome(text));
  } catch (err) {
    const message = (err as Error).message;
    count(kind, /client timeout/.test(message) ? 'CLIENT TIMEOUT (hang)' : /client abort/.test(message) ? 'client abort (injected)' : `transport error (${(err as NodeJS.ErrnoException).code ?? message})`);
  } finally {
    clearTimeout(timer);
  }
}

// ---- main --------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions();
  if (!options) {
    console.log(USAGE);
    return;
  }
  const durationMs = options.minutes * 60_000;
  const dir = await mkdtemp(join(tmpdir(), 'piapi-soak-'));
  const passThrough = await startFakeUpstream(passThroughAnswer);
  const anth = await startAnthropicMessagesFake((req) => {
    track(req);
    return llmTurn(take(armed.anth, 'anthropic'));
  });
  const oai = await startOpenAIResponsesFake((req) => {
    track(req);
    return llmTurn(take(armed.oai, 'responses'));
  });
  const dead = await freePort();
  const configPath = join(dir, 'config.yaml');
  await writeFile(
    configPath,
    `logging: { level: info }
http: { connectTimeoutMs: 1000, headersTimeoutMs: 2000, idleTimeoutMs: 2000 }
providers:
  - name: pt
    apiKeys: { k: sk-soak-passthrough-provider-1 }
    services:
      - { type: cx, baseUrl: "${passThrough.url}/pt", auth: { mode: header, name: authorization, prefix: "Bearer " } }
      - { type: dead, baseUrl: "http://127.0.0.1:${dead}" }
  - name: anth
    apiKeys: { k: fake-soak-provider-key-0001 }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: "${anth.url}", defaultModel: claude-sonnet-4-5 }
  - name: oai
    apiKeys: { k: sk-oai-soak-provider-secret-1 }
    llm: { provider: openai, api: openai-responses, baseUrl: "${oai.url}/v1", defaultModel: gpt-5-mini }
users:
  - { name: pt, apiKey: ${KEYS.pt}, providerName: pt, providerKeyName: k }
  - { name: anth, apiKey: ${KEYS.anth}, providerName: anth, providerKeyName: k }
  - { name: oai, apiKey: ${KEYS.oai}, providerName: oai, providerKeyName: k }
`,
  );
  const gateway = await spawnGateway(configPath, join(dir, 'gateway.log'));
  const pid = gateway.child.pid as number;
  const dispatcher = new Agent({ connections: MAX_IN_FLIGHT, keepAliveTimeout: 10_000 });
  console.error(`soak: gateway pid ${pid} at ${gateway.url}; ${options.minutes} min at ${options.rate} req/s, a fault every ${options.faultEverySec} s`);

  const startedAt = Date.now();
  const samples: Sample[] = [];
  const lagSpikes: { atS: number; lagMaxMs: number; gcMs: number; load1: number }[] = [];
  let inFlight = 0;
  let started = 0;
  let skipped = 0;
  let faultIndex = 0;
  let abortNext = false;
  const pending = new Set<Promise<void>>();

  const launch = (kind: Kind, abort = false) => {
    if (inFlight >= MAX_IN_FLIGHT) {
      skipped++;
      return;
    }
    inFlight++;
    started++;
    const p = fire(kind, gateway.url, dispatcher, abort).finally(() => {
      inFlight--;
      pending.delete(p);
    });
    pending.add(p);
  };

  // Steady rate: a tick every 20 ms starts as many requests as the schedule says are due.
  let due = 0;
  let kindIndex = 0;
  const load = setInterval(() => {
    const elapsed = Date.now() - startedAt;
    const target = Math.floor((elapsed / 1000) * options.rate);
    while (due < target) {
      due++;
      const kind = KINDS[kindIndex++ % KINDS.length];
      launch(kind, abortNext && kind !== 'pt-json');
      if (abortNext && kind !== 'pt-json') abortNext = false;
    }
  }, 20);

  const faults = setInterval(() => {
    const fault = FAULTS[faultIndex++ % FAULTS.length];
    if (fault === 'client-abort') {
      abortNext = true;
      injected.set('client abort', (injected.get('client abort') ?? 0) + 1);
    } else if (fault === 'refused') {
      injected.set('pass-through refused', (injected.get('pass-through refused') ?? 0) + 1);
      void request(`${gateway.url}/piapi/dead/x`, { headers: { authorization: `Bearer ${KEYS.pt}` }, dispatcher })
        .then(async (res) => {
          await res.body.dump();
          count('pt-json', `http ${res.statusCode} (refused upstream)`);
        })
        .catch(() => count('pt-json', 'transport error (refused upstream)'));
    } else {
      const turn = Math.floor(faultIndex / FAULTS.length) % 2 === 0;
      (turn ? armed.ptJson : armed.ptSse).push(fault);
      armed.anth.push(fault);
      armed.oai.push(fault);
    }
  }, options.faultEverySec * 1000);

  const sampler = setInterval(() => {
    void sample(gateway.url, pid, startedAt, dispatcher)
      .then((s) => {
        samples.push(s);
        if (s.lagMaxMs > LAG_LIMIT_S * 1000) lagSpikes.push({ atS: s.atS, lagMaxMs: s.lagMaxMs, gcMs: s.gcMs, load1: s.load1 });
      })
      .catch((err: unknown) => console.error(`soak: scrape failed: ${String(err)}`));
    // The fakes record every request: keep their memory flat over a long run.
    for (const fake of [passThrough, anth, oai]) fake.requests.length = 0;
  }, 5000);

  /** A full GC in the gateway, then a sample: the retained memory and handles at that point. */
  const checkpoint = async (): Promise<Sample> => {
    process.kill(pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 1000));
    return sample(gateway.url, pid, startedAt, dispatcher);
  };
  const checkpoints: { start?: Sample; middle?: Sample } = {};
  const warmupMs = Math.min(30_000, durationMs * 0.1);
  const atStart = setTimeout(() => void checkpoint().then((s) => (checkpoints.start = s)), warmupMs);
  const atMiddle = setTimeout(() => void checkpoint().then((s) => (checkpoints.middle = s)), durationMs / 2);

  const progress = setInterval(() => {
    const last = samples.at(-1);
    console.error(
      `soak: ${Math.round((Date.now() - startedAt) / 1000)} s, ${started} requests, ${inFlight} in flight` +
        (last ? `, rss ${last.rssMiB.toFixed(0)} MiB, heap ${last.heapUsedMiB.toFixed(0)}/${last.heapTotalMiB.toFixed(0)} MiB, external ${last.externalMiB.toFixed(0)} MiB, handles ${last.activeHandles}, fds ${last.fds}, lag max ${last.lagMaxMs.toFixed(1)} ms, load ${last.load1}` : ''),
    );
  }, 30_000);

  await new Promise((r) => setTimeout(r, durationMs));
  clearInterval(load);
  clearInterval(faults);
  await Promise.allSettled([...pending]);
  // Let idle keep-alive connections and the event loop settle, then take the final sample.
  await new Promise((r) => setTimeout(r, 6000));
  clearInterval(sampler);
  clearInterval(progress);
  clearTimeout(atStart);
  clearTimeout(atMiddle);
  const final = await checkpoint();

  gateway.child.kill('SIGTERM');
  const exitCode = await gateway.exited;
  await dispatcher.close();
  await Promise.all([passThrough.close(), anth.close(), oai.close()]);
  await rm(dir, { recursive: true, force: true });

  // Start: after a warm-up of 10% of the run (at most 30 s: pools and JIT settle); middle: half-way; end: drained.
  const warm = checkpoints.start ?? samples[0];
  const middle = checkpoints.middle ?? samples[Math.floor(samples.length / 2)];
  const totals = [...outcomes.values()].reduce((a, b) => a + b, 0);
  const report = {
    options,
    requests: { started, completed: totals, skippedAtInFlightCap: skipped },
    faultsInjected: Object.fromEntries([...injected].sort()),
    outcomes: Object.fromEntries([...outcomes].sort()),
    gateway: {
      start: warm,
      middle,
      end: final,
      rssGrowthMiB: final.rssMiB - warm.rssMiB,
      heapUsedGrowthMiB: final.heapUsedMiB - warm.heapUsedMiB,
      peakRssMiB: Math.max(...samples.map((x) => x.rssMiB)),
      handleGrowth: final.activeHandles - warm.activeHandles,
      fdGrowth: final.fds - warm.fds,
      exitCode,
    },
    eventLoop: { samples: samples.length, maxLagMs: Math.max(...samples.map((s) => s.lagMaxMs)), spikesOver100ms: lagSpikes },
    samples,
    upstreamExchangesStillOpen: openExchanges,
    hangs: [...outcomes].filter(([k]) => k.includes('CLIENT TIMEOUT')).reduce((a, [, v]) => a + v, 0),
    // Every failed request should be one an injected upstream fault explains.
    failedRequests: [...outcomes].filter(([k]) => !k.endsWith(' ok') && !k.includes('client abort')).reduce((a, [, v]) => a + v, 0),
    upstreamFaultsInjected: [...injected].filter(([k]) => k !== 'client abort').reduce((a, [, v]) => a + v, 0),
    malformed: [...outcomes].filter(([k]) => k.includes('MALFORMED') || k.includes('malformed')).reduce((a, [, v]) => a + v, 0),
  };

  console.log('\n== piapi soak ==');
  console.log(`${options.minutes} min, ${options.rate} req/s: ${started} requests, ${skipped} skipped at the in-flight cap`);
  console.log('\nfaults injected:');
  for (const [k, v] of Object.entries(report.faultsInjected)) console.log(`  ${String(v).padStart(6)}  ${k}`);
  console.log('\noutcomes by kind:');
  for (const [k, v] of Object.entries(report.outcomes)) console.log(`  ${String(v).padStart(6)}  ${k}`);
  console.log('\ngateway process, after a full GC   start     middle       end');
  const row = (name: string, f: (s: Sample) => number, digits = 0) =>
    console.log(`  ${name.padEnd(32)}${[warm, middle, final].map((s) => f(s).toFixed(digits).padStart(10)).join('')}`);
  row('at (s)', (s) => s.atS);
  row('RSS (MiB)', (s) => s.rssMiB, 1);
  row('heap used (MiB)', (s) => s.heapUsedMiB, 1);
  row('heap total (MiB)', (s) => s.heapTotalMiB, 1);
  row('external (MiB)', (s) => s.externalMiB, 1);
  row('active handles', (s) => s.activeHandles);
  row('open fds', (s) => s.fds);
  row('in flight', (s) => s.inflight);
  row('CPU (% of a core)', (s) => s.cpuPct);
  row('loop delay p99 (ms)', (s) => s.lagP99Ms, 1);
  console.log(`  peak RSS between checkpoints: ${report.gateway.peakRssMiB.toFixed(1)} MiB`);
  console.log(`\nevent loop: max delay ${report.eventLoop.maxLagMs.toFixed(1)} ms over ${samples.length} scrapes; intervals over 100 ms: ${lagSpikes.length ? lagSpikes.map((s) => `${s.atS}s:${s.lagMaxMs.toFixed(0)}ms (gc ${s.gcMs.toFixed(0)} ms, load ${s.load1})`).join(', ') : 'none'}`);
  console.log(`failed requests ${report.failedRequests} for ${report.upstreamFaultsInjected} upstream faults injected (each fault fails at most one request)`);
  console.log(`upstream exchanges still open at the end: ${openExchanges}; client hangs: ${report.hangs}; malformed answers: ${report.malformed}; gateway exit code ${exitCode}`);
  if (options.json) await writeFile(options.json, JSON.stringify(report, null, 2));
  const failed = report.hangs > 0 || report.malformed > 0 || openExchanges > 0 || exitCode !== 0 || report.failedRequests > report.upstreamFaultsInjected;
  process.exitCode = failed ? 1 : 0;
}

await main();
