import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { eventually } from '../support/gateway-harness.js';
import { killGateway, spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { TestRedis } from '../support/redis-server.js';

// Two real gateway processes (as two replicas) on one real Redis.
vi.setConfig({ testTimeout: 60_000 });

const KEYS = {
  burst: 'piapi-user-limits-burst-0001',
  other: 'piapi-user-limits-other-0002',
  tokens: 'piapi-user-limits-tokens-003',
  override: 'piapi-user-limits-override-4',
  defaults: 'piapi-user-limits-defaults-5',
  streams: 'piapi-user-limits-streams-06',
};
const PROVIDER_KEY = 'fake-limits-provider-key-0000';
/** Each Anthropic answer of the upstream reports 500 + 100 tokens. */
const ANSWER_TOKENS = 600;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

async function call(gw: GatewayProcess, path: string, key: string, body = '{"model":"m","max_tokens":10,"messages":[]}'): Promise<Answer> {
  const res = await request(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body,
    headersTimeout: 20_000,
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

function upstreamAnswers(upstream: RecordingUpstream): void {
  upstream.setHandler((req, res) => {
    if (req.url?.includes('/slow')) {
      // A stream that takes its time: holds a concurrency slot while it runs.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`event: ping\ndata: {"type":"ping","n":${++n}}\n\n`);
        if (n === 8) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'm',
        content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'end_turn',
        usage: { input_tokens: 500, output_tokens: 100 },
      }),
    );
  });
}

function configYaml(o: { upstreamUrl: string; redisUrl: string }): string {
  return `state:
  redis: { url: ${o.redisUrl}, keyPrefix: "e2e:", commandTimeoutMs: 500 }
limits:
  requestsPerMinute: 1000
providers:
  - name: p
    apiKeys: { k: ${PROVIDER_KEY} }
    services:
      - { type: cc, baseUrl: ${o.upstreamUrl}, auth: { mode: header, name: x-api-key } }
      - { type: cx, baseUrl: ${o.upstreamUrl} }
users:
  - { name: burst, apiKey: ${KEYS.burst}, providerName: p, providerKeyName: k, limits: { requestsPerMinute: 10 } }
  - { name: other, apiKey: ${KEYS.other}, providerName: p, providerKeyName: k, limits: { requestsPerMinute: 10 } }
  - { name: tokens, apiKey: ${KEYS.tokens}, providerName: p, providerKeyName: k, limits: { tokensPerMinute: 1000 } }
  - { name: override, apiKey: ${KEYS.override}, providerName: p, providerKeyName: k, limits: { requestsPerMinute: 2 } }
  - { name: defaults, apiKey: ${KEYS.defaults}, providerName: p, providerKeyName: k }
  - { name: streams, apiKey: ${KEYS.streams}, providerName: p, providerKeyName: k, limits: { concurrentRequests: 2, requestsPerMinute: null } }
`;
}

function forUser(upstream: RecordingUpstream, path: string, since: number): number {
  return upstream.requests.slice(since).filter((r) => r.url.startsWith(path)).length;
}

describe('limits shared by two gateway processes on one Redis', () => {
  let redis: TestRedis;
  let upstream: RecordingUpstream;
  let dir: string;
  let gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    redis = await TestRedis.start();
    upstream = await startRecordingUpstream();
    upstreamAnswers(upstream);
    dir = await mkdtemp(join(tmpdir(), 'piapi-limits-'));
    const configPath = join(dir, 'config.yaml');
    await writeFile(configPath, configYaml({ upstreamUrl: upstream.url, redisUrl: redis.url }));
    gateways = await Promise.all([spawnGateway(configPath), spawnGateway(configPath)]);
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => killGateway(g)));
    await upstream.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lets exactly requestsPerMinute of 30 concurrent requests through, and refuses 20 with a 429 and retry-after', async () => {
    const before = upstream.requests.length;

    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => call(gateways[i % 2], '/piapi/cc/v1/messages?burst', KEYS.burst)));

    expect(answers.filter((a) => a.status === 200)).toHaveLength(10);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(20);
    expect(forUser(upstream, '/v1/messages?burst', before)).toBe(10);
    for (const a of refused) {
      expect(Number(a.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(a.headers['retry-after'])).toBeLessThanOrEqual(60);
      const body = JSON.parse(a.body) as { type: string; error: { type: string; message: string }; request_id: string };
      expect(body.type).toBe('error');
      expect(body.error.type).toBe('rate_limit_error');
      expect(body.error.message).toContain('requestsPerMinute (10)');
      expect(body.request_id).toBe(a.headers['x-request-id']);
    }
    // Both processes refused some: the limit is one, not one per process.
    const refusedBy = new Set(answers.map((a, i) => (a.status === 429 ? i % 2 : -1)).filter((g) => g >= 0));
    expect(refusedBy.size).toBe(2);
  });

  it('speaks OpenAI on the cx pass-through when refusing', async () => {
    // `burst` used its minute in the test above.
    const answer = await call(gateways[1], '/piapi/cx/responses', KEYS.burst);
    expect(answer.status).toBe(429);
    const body = JSON.parse(answer.body) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('rate_limit_exceeded');
    expect(body.error.message).toContain('requestsPerMinute');
  });

  it('leaves another user with the same limit unaffected', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => call(gateways[i % 2], '/piapi/cc/v1/messages', KEYS.other)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
  });

  it('refuses after the request that crosses tokensPerMinute, whichever process counted the tokens', async () => {
    const plain = redis.client();
    const counted = async () => Number((await plain.get('e2e:limits:tokens-minute:tokens')) ?? 0);
    try {
      expect((await call(gateways[0], '/piapi/cc/v1/messages', KEYS.tokens)).status).toBe(200);
      await eventually(async () => (await counted()) === ANSWER_TOKENS);
      // Under the limit (600 of 1000): admitted, and it crosses it.
      expect((await call(gateways[1], '/piapi/cc/v1/messages', KEYS.tokens)).status).toBe(200);
      await eventually(async () => (await counted()) === 2 * ANSWER_TOKENS);

      const refused = await call(gateways[0], '/piapi/cc/v1/messages', KEYS.tokens);
      expect(refused.status).toBe(429);
      expect(refused.body).toContain('tokensPerMinute (1000)');
    } finally {
      plain.disconnect();
    }
  });

  it('applies a user override over the default', async () => {
    const overridden = await Promise.all([0, 1, 0].map((g) => call(gateways[g], '/piapi/cc/v1/messages', KEYS.override)));
    const defaulted = await Promise.all([0, 1, 0].map((g) => call(gateways[g], '/piapi/cc/v1/messages', KEYS.defaults)));

    expect(overridden.map((a) => a.status).sort()).toEqual([200, 200, 429]);
    expect(defaulted.map((a) => a.status)).toEqual([200, 200, 200]);
  });

  it('holds concurrentRequests across processes while slow streams run, and admits again when one ends', async () => {
    const first = call(gateways[0], '/piapi/cc/slow', KEYS.streams);
    const second = call(gateways[1], '/piapi/cc/slow', KEYS.streams);
    await eventually(() => upstream.requests.filter((r) => r.url === '/slow' && !r.closedEarly).length >= 2);

    const third = await call(gateways[0], '/piapi/cc/slow', KEYS.streams);
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBe('1');
    expect(third.body).toContain('concurrentRequests (2)');

    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect((await call(gateways[1], '/piapi/cc/v1/messages', KEYS.streams)).status).toBe(200);
  });

  it('counts refusals by user and limit, and never limits health, readiness or metrics', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const res = await request(`${gateways[0].url}${path}`, { headers: { 'x-api-key': KEYS.burst } });
      await res.body.text();
      expect(res.statusCode).toBe(200);
    }
    const metrics = await (await request(`${gateways[0].url}/metrics`)).body.text();
    expect(metrics).toMatch(/^piapi_rate_limited_total\{user="burst",limit="requestsPerMinute"\} [1-9]/m);
    expect(metrics).toMatch(/^piapi_state_store_up 1$/m);
  });
});
