import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { closeConnection, resetConnection } from '../fakes/connection-faults.js';
import { scrape, seriesValue } from '../support/metrics-scrape.js';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { freePort } from '../support/free-port.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';

const USER = 'piapi-user-pool-alice-0123456789';
const KEYS = { k1: 'sk-pool-key-one-111111', k2: 'sk-pool-key-two-222222', k3: 'sk-pool-key-three-3333' } as const;
type KeyName = keyof typeof KEYS;
const NAME_OF = new Map(Object.entries(KEYS).map(([name, value]) => [`Bearer ${value}`, name as KeyName]));
const MiB = 1024 * 1024;

type KeyHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

/** One upstream for every key; each key answers as `behaviour[key]` says (200 with its name by default). */
let upstream: RecordingUpstream;
let behaviour: Partial<Record<KeyName, KeyHandler>> = {};
let gw: TestGateway | undefined;

function keyOf(headers: IncomingMessage['headers']): KeyName | undefined {
  return NAME_OF.get(String(headers.authorization ?? ''));
}

/** The key names the upstream saw, in order. */
function keysSeen(): (KeyName | undefined)[] {
  return upstream.requests.map((r) => keyOf(r.headers));
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): KeyHandler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

function configYaml(o: { strategy?: string; cooldownMs?: number; http?: string; baseUrl?: string; state?: string; members?: string; extraKeys?: string } = {}): string {
  return `
${o.http ?? ''}
${o.state ?? ''}
providers:
  - name: chatgpt
    apiKeys: { k1: ${KEYS.k1}, k2: ${KEYS.k2}, k3: ${KEYS.k3}${o.extraKeys ?? ''} }
    keyPools:
      team: { keys: [${o.members ?? 'k1, k2, k3'}], strategy: ${o.strategy ?? 'fill-first'}, cooldownMs: ${o.cooldownMs ?? 60000} }
    services:
      - { type: cx, baseUrl: ${o.baseUrl ?? upstream.url} }
      - { type: cc, baseUrl: ${o.baseUrl ?? upstream.url} }
users:
  - { name: Alice, apiKey: ${USER}, providerName: chatgpt, providerKeyName: team }
  - { name: Bob, apiKey: piapi-user-pool-bob-0123456789ab, providerName: chatgpt, providerKeyName: team }
`;
}

async function start(o: Parameters<typeof configYaml>[0] = {}): Promise<TestGateway> {
  gw = await startTestGateway(configYaml(o));
  return gw;
}

async function post(path = '/piapi/cx/v1/responses', body: string | Buffer | Readable = '{"model":"gpt-5","input":"hi"}', user = USER) {
  const res = await request(`${gw!.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' }, body });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function logLine(requestId: unknown): Promise<Record<string, unknown>> {
  await eventually(() => gw!.logs.records().some((r) => r.request_id === requestId && r.msg === 'request completed'));
  return gw!.logs.records().find((r) => r.request_id === requestId && r.msg === 'request completed')!;
}

function metrics(): Promise<string> {
  return scrape(gw!.url);
}

beforeAll(async () => {
  upstream = await startRecordingUpstream((req, res, body) => {
    const key = keyOf(req.headers);
    const handler = (key && behaviour[key]) ?? json(200, { key, bytes: body.length });
    return handler(req, res, body);
  });
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
  behaviour = {};
  upstream.requests.length = 0;
});

describe('key pool failover on the pass-through proxy', () => {
  it('answers from key 2 when key 1 is rate limited, skips key 1 for its retry-after, then uses it again', async () => {
    await start();
    behaviour.k1 = json(429, { error: { message: 'slow down' } }, { 'retry-after': '2' });

    const first = await post();
    expect(first.status).toBe(200);
    expect(JSON.parse(first.text).key).toBe('k2');
    expect(keysSeen()).toEqual(['k1', 'k2']);

    behaviour = {};
    await post();
    expect(keysSeen()).toEqual(['k1', 'k2', 'k2']);

    await sleep(2_100);
    const later = await post();
    expect(JSON.parse(later.text).key).toBe('k1');
  });

  it('sends the same body again, byte for byte, with the next key', async () => {
    await start();
    behaviour.k1 = json(503, { error: 'down' });
    const body = Buffer.alloc(MiB, 'x');
    body.write('{"model":"gpt-5","input":"', 0);

    const res = await post('/piapi/cx/v1/responses', body);

    expect(res.status).toBe(200);
    expect(upstream.requests.map((r) => r.body.equals(body))).toEqual([true, true]);
  });

  it('replays a chunked body that fits replayBodyBytes', async () => {
    await start();
    behaviour.k1 = json(500, { error: 'oops' });
    const parts = [Buffer.alloc(300_000, 'a'), Buffer.alloc(300_000, 'b')];

    const res = await post('/piapi/cx/v1/responses', Readable.from(parts));

    expect(res.status).toBe(200);
    expect(upstream.requests.map((r) => r.body.equals(Buffer.concat(parts)))).toEqual([true, true]);
    expect(upstream.requests[0].headers['transfer-encoding']).toBe('chunked');
  });

  it('fails over when the connection is cut before response headers', async () => {
    await start();
    behaviour.k1 = (_req, res) => resetConnection(res);
    behaviour.k2 = (_req, res) => closeConnection(res);

    const res = await post();

    expect(JSON.parse(res.text).key).toBe('k3');
    expect(keysSeen()).toEqual(['k1', 'k2', 'k3']);
  });

  it('fails over when response headers do not come in time', async () => {
    await start({ http: 'http: { headersTimeoutMs: 300 }' });
    behaviour.k1 = () => sleep(1_000);

    const res = await post();

    expect(JSON.parse(res.text).key).toBe('k2');
  });

  it('tries every key once when the upstream refuses connections, then answers 502', async () => {
    const closedPort = await freePort();
    await start({ baseUrl: `http://127.0.0.1:${closedPort}` });

    const res = await post();

    expect(res.status).toBe(502);
    const line = await logLine(res.headers['x-request-id']);
    expect(line).toMatchObject({ attempts: 3, provider_key: 'k3' });
  });

  it('answers a 400 as it is, without trying another key', async () => {
    await start();
    behaviour.k1 = json(400, { error: { message: 'bad input' } });

    const res = await post();

    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toEqual({ error: { message: 'bad input' } });
    expect(keysSeen()).toEqual(['k1']);
  });

  it('fails a 401 over and keeps the key out for the auth cooldown', async () => {
    await start({ cooldownMs: 200 });
    behaviour.k1 = json(401, { error: 'revoked' });

    expect(JSON.parse((await post()).text).key).toBe('k2');
    await sleep(400);
    // 10 × 200 ms: still out after twice the plain cooldown.
    await post();
    expect(keysSeen()).toEqual(['k1', 'k2', 'k2']);
  });

  it("passes the last key's 429 on, then answers 429 with the soonest retry-after without calling the upstream", async () => {
    await start();
    behaviour.k1 = json(429, { error: 'limited' }, { 'retry-after': '30' });
    behaviour.k2 = json(429, { error: 'limited' }, { 'retry-after': '7' });
    behaviour.k3 = json(429, { error: 'limited' }, { 'retry-after': '20' });

    const first = await post();
    expect(first.status).toBe(429);
    expect(keysSeen()).toEqual(['k1', 'k2', 'k3']);

    const openai = await post('/piapi/cx/v1/responses');
    const anthropic = await post('/piapi/cc/v1/messages');

    expect(keysSeen()).toHaveLength(3);
    expect([openai.status, anthropic.status]).toEqual([429, 429]);
    for (const res of [openai, anthropic]) {
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(6);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(7);
    }
    expect(JSON.parse(openai.text).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect(JSON.parse(anthropic.text)).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });

  it('cools a key down until the reset of a ChatGPT usage_limit_reached body', async () => {
    await start({ cooldownMs: 1 });
    behaviour.k1 = json(429, { error: { type: 'usage_limit_reached', message: 'The usage limit has been reached', resets_in_seconds: 3600 } });

    await post();
    await sleep(50);
    await post();

    expect(keysSeen()).toEqual(['k1', 'k2', 'k2']);
    expect(await metrics()).toContain('piapi_provider_key_available{provider="chatgpt",key="k1"} 0');
  });

  it('never retries a streamed answer that has started', async () => {
    await start();
    behaviour.k1 = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: response.created\ndata: {"type":"response.created"}\n\n');
      await resetConnection(res);
    };

    const res = await post();

    expect(res.status).toBe(200);
    expect(res.text).toContain('response.created');
    expect(res.text).toContain('event: error');
    expect(keysSeen()).toEqual(['k1']);
  });

  it('does not replay a 20 MiB body: the first answer goes to the client', async () => {
    await start();
    behaviour.k1 = json(429, { error: 'limited' }, { 'retry-after': '1' });

    const res = await post('/piapi/cx/v1/responses', Buffer.alloc(20 * MiB, 'z'));

    expect(res.status).toBe(429);
    expect(keysSeen()).toEqual(['k1']);
    expect(upstream.requests[0].body.length).toBe(20 * MiB);
  });

  it('does not replay a chunked body that grows past replayBodyBytes', async () => {
    await start({ http: 'http: { replayBodyBytes: 100000 }' });
    behaviour.k1 = json(503, { error: 'down' });

    const res = await post('/piapi/cx/v1/responses', Readable.from([Buffer.alloc(80_000, 'a'), Buffer.alloc(80_000, 'b')]));

    expect(res.status).toBe(503);
    expect(keysSeen()).toEqual(['k1']);
  });

  it('keeps a sticky user on one key across 20 requests and moves it only while that key cools down', async () => {
    await start({ strategy: 'sticky', cooldownMs: 1_000 });
    for (let i = 0; i < 20; i++) await post();
    const home = keysSeen()[0]!;
    expect(new Set(keysSeen())).toEqual(new Set([home]));

    behaviour[home] = json(503, { error: 'down' });
    await post();
    behaviour = {};
    const away = JSON.parse((await post()).text).key;
    expect(away).not.toBe(home);
    await sleep(1_100);
    expect(JSON.parse((await post()).text).key).toBe(home);
  });

  it('spreads round-robin requests over the keys', async () => {
    await start({ strategy: 'round-robin' });
    for (let i = 0; i < 6; i++) await post();
    expect(keysSeen()).toEqual(['k1', 'k2', 'k3', 'k1', 'k2', 'k3']);
  });

  it('counts attempts per key name and outcome, shows the cooling key, and logs the key and attempts', async () => {
    await start();
    behaviour.k1 = json(429, { error: 'limited' }, { 'retry-after': '60' });

    const limited = 'piapi_upstream_attempts_total{service_type="cx",provider="chatgpt",key="k1",outcome="rate_limited"}';
    const ok = 'piapi_upstream_attempts_total{service_type="cx",provider="chatgpt",key="k2",outcome="ok"}';
    const before = await metrics();
    const res = await post();
    const text = await metrics();

    expect([seriesValue(text, limited) - seriesValue(before, limited), seriesValue(text, ok) - seriesValue(before, ok)]).toEqual([1, 1]);
    const errors = 'piapi_upstream_errors_total{service_type="cx",provider="chatgpt",reason="429"}';
    expect(seriesValue(text, errors) - seriesValue(before, errors)).toBe(1);
    expect(text).toContain('piapi_provider_key_available{provider="chatgpt",key="k1"} 0');
    expect(text).toContain('piapi_provider_key_available{provider="chatgpt",key="k2"} 1');
    for (const secret of Object.values(KEYS)) expect(text).not.toContain(secret);
    expect(await logLine(res.headers['x-request-id'])).toMatchObject({ provider_key: 'k2', attempts: 2, status: 200 });
  });

  it('moves on from an OAuth member whose credentials cannot be read, to the next key', async () => {
    await start({ extraKeys: ', o1: { oauth: openai-codex, credentialsFile: /nonexistent/piapi/o1.json }', members: 'o1, k2' });
    const series = 'piapi_upstream_attempts_total{service_type="cx",provider="chatgpt",key="o1",outcome="key_unavailable"}';
    const before = seriesValue(await metrics(), series);

    const res = await post();

    expect(JSON.parse(res.text).key).toBe('k2');
    expect(keysSeen()).toEqual(['k2']);
    expect(seriesValue(await metrics(), series) - before).toBe(1);
  });

  it('refuses a chunked body past maxBodyBytes with 413, without trying another key', async () => {
    await start({ http: 'http: { maxBodyBytes: 65536 }' });

    const res = await post('/piapi/cx/v1/responses', Readable.from([Buffer.alloc(40_000, 'a'), Buffer.alloc(40_000, 'b')]));

    expect(res.status).toBe(413);
    expect(keysSeen().length).toBeLessThanOrEqual(1);
  });

  it('stops failing over once the client has gone away', async () => {
    await start();
    let arrived!: () => void;
    const atUpstream = new Promise<void>((resolve) => (arrived = resolve));
    behaviour.k1 = async (_req, res) => {
      arrived();
      await sleep(300);
      void json(503, { error: 'down' })(_req, res, Buffer.alloc(0));
    };
    const controller = new AbortController();
    const pending = request(`${gw!.url}/piapi/cx/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${USER}` }, body: '{}', signal: controller.signal }).catch(() => undefined);
    await atUpstream;
    controller.abort();
    await pending;
    await sleep(500);

    expect(keysSeen()).toEqual(['k1']);
    // The gateway still answers.
    behaviour = {};
    expect((await post()).status).toBe(200);
  });
});

describe('key pool failover when key 1 answers before the body has arrived', () => {
  let early: { url: string; bodies: Map<string, number>; close(): Promise<void> };

  beforeAll(async () => {
    const bodies = new Map<string, number>();
    const server = createServer((req, res) => {
      const key = keyOf(req.headers) ?? 'none';
      if (key === 'k1') {
        // At once, before reading a byte of the body.
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end('{"error":"limited before reading"}');
        req.resume();
        return;
      }
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        bodies.set(key, bytes);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ key, bytes }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    early = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      bodies,
      close: () => new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    };
  });
  afterAll(async () => {
    await early.close();
  });

  async function* slowBody(size: number): AsyncGenerator<Buffer> {
    yield Buffer.alloc(size, 'a');
    await sleep(300);
    yield Buffer.alloc(size, 'b');
  }

  it('waits for the rest of the body, then sends all of it with the next key', async () => {
    await start({ baseUrl: early.url });

    const res = await post('/piapi/cx/v1/responses', Readable.from(slowBody(50_000)));

    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ key: 'k2', bytes: 100_000 });
  });

  it("gives the client key 1's answer whole when the body turns out too large to send again", async () => {
    await start({ baseUrl: early.url, http: 'http: { replayBodyBytes: 100000 }' });

    const res = await post('/piapi/cx/v1/responses', Readable.from(slowBody(80_000)));

    expect(res.status).toBe(429);
    expect(res.text).toBe('{"error":"limited before reading"}');
  });
});

