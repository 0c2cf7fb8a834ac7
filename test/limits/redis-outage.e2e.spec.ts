import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { utcDay } from '../../src/limits/limit-counters.js';
import { eventually } from '../support/gateway-harness.js';
import { killGateway, spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { TestRedis } from '../support/redis-server.js';

// Redis killed, paused and restarted under two gateway processes: one with `onError: allow`,
// one with `onError: deny`.
vi.setConfig({ testTimeout: 60_000 });

const USER_KEY = 'piapi-user-outage-0000000001';
const PROVIDER_KEY = 'fake-outage-provider-key-0000';
const COMMAND_TIMEOUT_MS = 150;
/** What a request may take beyond the command timeout on this machine (2 shared CPUs): wide. */
const LATENCY_MARGIN_MS = 700;
/** Each upstream answer reports 500 + 100 tokens. */
const ANSWER_TOKENS = 600;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

async function call(gw: GatewayProcess, path = '/piapi/cc/v1/messages'): Promise<Answer> {
  const started = performance.now();
  const res = await request(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'x-api-key': USER_KEY, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: '{"model":"m","max_tokens":10,"messages":[]}',
    headersTimeout: 20_000,
  });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body, ms: performance.now() - started };
}

async function metric(gw: GatewayProcess, pattern: RegExp): Promise<string | undefined> {
  const text = await (await request(`${gw.url}/metrics`)).body.text();
  return pattern.exec(text)?.[1];
}

function configYaml(upstreamUrl: string, redisUrl: string, onError: 'allow' | 'deny'): string {
  return `state:
  redis: { url: ${redisUrl}, keyPrefix: "outage:", commandTimeoutMs: ${COMMAND_TIMEOUT_MS}, onError: ${onError} }
providers:
  - name: p
    apiKeys: { k: ${PROVIDER_KEY} }
    services:
      - { type: cc, baseUrl: ${upstreamUrl}, auth: { mode: header, name: x-api-key } }
      - { type: cx, baseUrl: ${upstreamUrl} }
users:
  - { name: dev, apiKey: ${USER_KEY}, providerName: p, providerKeyName: k, limits: { requestsPerMinute: 4, tokensPerDay: 100000000 } }
`;
}

describe('Redis down, slow and restarted under two gateway processes', () => {
  let redis: TestRedis;
  let upstream: RecordingUpstream;
  let dir: string;
  let allow: GatewayProcess;
  let deny: GatewayProcess;
  const dayCount = async () => {
    const plain = redis.client();
    try {
      return Number(await plain.get(`outage:limits:tokens-day:dev:${utcDay(Date.now())}`));
    } finally {
      plain.disconnect();
    }
  };

  beforeAll(async () => {
    redis = await TestRedis.start();
    upstream = await startRecordingUpstream();
    upstream.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn","usage":{"input_tokens":500,"output_tokens":100}}');
    });
    dir = await mkdtemp(join(tmpdir(), 'piapi-outage-'));
    await writeFile(join(dir, 'allow.yaml'), configYaml(upstream.url, redis.url, 'allow'));
    await writeFile(join(dir, 'deny.yaml'), configYaml(upstream.url, redis.url, 'deny'));
    [allow, deny] = await Promise.all([spawnGateway(join(dir, 'allow.yaml')), spawnGateway(join(dir, 'deny.yaml'))]);
  });
  afterAll(async () => {
    await Promise.all([killGateway(allow), killGateway(deny)]);
    await upstream.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('enforces the shared limit while Redis is up', async () => {
    const answers = await Promise.all([allow, deny, allow, deny, allow, deny].map((g) => call(g)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 429, 429]);
    expect(await metric(allow, /^piapi_state_store_up (\d)$/m)).toBe('1');
  });

  it('answers within commandTimeoutMs when Redis stops answering (paused), allow serves and deny refuses with 503', async () => {
    redis.pause();
    try {
      // The user is over its minute: only a skipped check lets `allow` through.
      const load = await Promise.all(Array.from({ length: 10 }, (_, i) => call(i % 2 ? deny : allow)));
      for (const a of load) expect(a.ms).toBeLessThan(COMMAND_TIMEOUT_MS + LATENCY_MARGIN_MS);
      const fromAllow = load.filter((_, i) => i % 2 === 0);
      const fromDeny = load.filter((_, i) => i % 2 === 1);
      expect(fromAllow.map((a) => a.status)).toEqual(Array(5).fill(200));
      expect(fromDeny.map((a) => a.status)).toEqual(Array(5).fill(503));
      const body = JSON.parse(fromDeny[0].body) as { type: string; error: { type: string; message: string }; request_id: string };
      expect(body.type).toBe('error');
      expect(body.error.type).toBe('api_error');
      expect(body.request_id).toBe(fromDeny[0].headers['x-request-id']);

      // OpenAI's format on the cx pass-through.
      const cx = await call(deny, '/piapi/cx/responses');
      expect(cx.status).toBe(503);
      expect((JSON.parse(cx.body) as { error: { message: string } }).error.message).toBeTruthy();

      expect(await metric(allow, /^piapi_state_store_up (\d)$/m)).toBe('0');
      expect(await metric(deny, /^piapi_state_store_up (\d)$/m)).toBe('0');
      for (const gw of [allow, deny]) {
        const ready = await request(`${gw.url}/readyz`);
        await ready.body.text();
        expect(ready.statusCode).toBe(200);
      }
    } finally {
      redis.resume();
    }
  });

  it('logs one line per outage, not one per request, and counts the errors by operation', async () => {
    const downLines = (gw: GatewayProcess) => gw.output().split('\n').filter((l) => l.includes('state store unreachable')).length;
    // The log is flushed every 250 ms.
    await eventually(() => downLines(allow) > 0 && downLines(deny) > 0, 5_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(downLines(allow)).toBe(1);
    expect(downLines(deny)).toBe(1);
    expect(Number(await metric(allow, /^piapi_state_store_errors_total\{operation="limit_check"\} (\d+)/m))).toBeGreaterThanOrEqual(1);
    expect(allow.output()).not.toContain(PROVIDER_KEY);
    expect(allow.output()).not.toContain(USER_KEY);
  });

  it('keeps answering fast when Redis is killed mid-load, enforces again once a new Redis is up, and adds the outage tokens', async () => {
    await eventually(async () => (await metric(allow, /^piapi_state_store_up (\d)$/m)) === '1', 10_000);
    expect(await dayCount()).toBeGreaterThan(0);

    const load = Array.from({ length: 20 }, (_, i) =>
      new Promise<void>((resolve) => setTimeout(resolve, i * 15)).then(() => call(allow)),
    );
    await new Promise((r) => setTimeout(r, 100));
    await redis.kill();
    const answers = await Promise.all(load);
    for (const a of answers) expect(a.ms).toBeLessThan(COMMAND_TIMEOUT_MS + LATENCY_MARGIN_MS);
    expect(answers.every((a) => a.status === 200 || a.status === 429)).toBe(true);
    const servedDuringOutage = [];
    for (let i = 0; i < 3; i++) servedDuringOutage.push(await call(allow));
    expect(servedDuringOutage.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(await metric(allow, /^piapi_state_store_up (\d)$/m)).toBe('0');

    // A restarted Redis without persistence is empty: the counters start again from what the
    // processes kept in memory.
    await redis.restart();
    await eventually(async () => (await metric(allow, /^piapi_state_store_up (\d)$/m)) === '1', 10_000);
    await eventually(async () => (await dayCount()) >= 3 * ANSWER_TOKENS, 10_000);

    const after = await Promise.all(Array.from({ length: 6 }, () => call(allow)));
    expect(after.filter((a) => a.status === 200)).toHaveLength(4);
    expect(after.filter((a) => a.status === 429)).toHaveLength(2);
  });
});
