import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { killGateway, spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { runPiapi } from './cli-process.js';

const USER = 'piapi-user-keys-status-01234567';
const KEYS = { 'acct-1': 'sk-keys-status-acct-1-111111', 'acct-2': 'sk-keys-status-acct-2-222222' };
const RETRY_AFTER_S = 600;

describe('piapi keys status', () => {
  let home: string;
  let upstream: RecordingUpstream;
  let pooled: GatewayProcess;
  let plain: GatewayProcess;
  const keysStatus = (...args: string[]) => runPiapi(['keys', 'status', ...args], { env: { HOME: home } });

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'piapi-keys-status-'));
    // acct-1's account is rate limited for RETRY_AFTER_S.
    upstream = await startRecordingUpstream((req, res) => {
      const limited = req.headers.authorization === `Bearer ${KEYS['acct-1']}`;
      res.writeHead(limited ? 429 : 200, { 'content-type': 'application/json', ...(limited ? { 'retry-after': String(RETRY_AFTER_S) } : {}) });
      res.end('{}');
    });
    const config = (pools: string, user: string) => `providers:
  - name: chatgpt
    apiKeys: { acct-1: ${KEYS['acct-1']}, acct-2: ${KEYS['acct-2']} }
${pools}    services: [{ type: cx, baseUrl: ${upstream.url} }]
users:
  - { name: Alice, apiKey: ${USER}, providerName: chatgpt, providerKeyName: ${user} }
`;
    await writeFile(join(home, 'pooled.yaml'), config('    keyPools:\n      team: { keys: [acct-1, acct-2], strategy: fill-first }\n      solo: { keys: [acct-1] }\n', 'team'));
    await writeFile(join(home, 'plain.yaml'), config('', 'acct-2'));
    [pooled, plain] = await Promise.all([spawnGateway(join(home, 'pooled.yaml')), spawnGateway(join(home, 'plain.yaml'))]);
    // One request: acct-1 answers 429 and cools down, acct-2 answers.
    const res = await fetch(`${pooled.url}/piapi/cx/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${USER}` }, body: '{}' });
    expect(res.status).toBe(200);
    await res.text();
  }, 120_000);
  afterAll(async () => {
    await Promise.all([killGateway(pooled), killGateway(plain)]);
    await upstream?.close();
    await rm(home, { recursive: true, force: true });
  });

  it('prints the cooling key with the seconds until it is free, the available keys of each pool, and the attempts by key', async () => {
    const run = await keysStatus('--url', pooled.url);

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const free = Number(/acct-1 {2}cooling down, free in (\d+) s/.exec(run.stdout)?.[1]);
    expect(free, run.stdout).toBeGreaterThan(RETRY_AFTER_S - 30);
    expect(free).toBeLessThanOrEqual(RETRY_AFTER_S);
    expect(run.stdout.replace(/free in \d+ s \(\d+ min\)/, 'free in N s')).toBe(
      [
        'chatgpt',
        '  keys',
        '    acct-1  cooling down, free in N s',
        '    acct-2  available',
        '  pools',
        '    solo  0 of 1 key available, exhausted',
        '    team  1 of 2 keys available',
        '  attempts',
        '    acct-1  rate_limited 1',
        '    acct-2  ok 1',
        '',
      ].join('\n'),
    );
    for (const secret of [USER, ...Object.values(KEYS)]) expect(run.stdout).not.toContain(secret);
  });

  it('prints the same as JSON with --json', async () => {
    const run = await keysStatus('--url', `${pooled.url}/`, '--json');

    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as { providers: { provider: string; keys: { key: string; available: boolean; freeInSeconds: number }[]; pools: unknown[]; attempts: unknown[] }[] };
    expect(status.providers.map((p) => p.provider)).toEqual(['chatgpt']);
    const [chatgpt] = status.providers;
    expect(chatgpt.keys.map((k) => [k.key, k.available, k.freeInSeconds > RETRY_AFTER_S - 30])).toEqual([
      ['acct-1', false, true],
      ['acct-2', true, false],
    ]);
    expect(chatgpt.pools).toEqual([
      { pool: 'solo', availableKeys: 0, keys: 1 },
      { pool: 'team', availableKeys: 1, keys: 2 },
    ]);
    expect(chatgpt.attempts).toEqual([
      { key: 'acct-1', outcome: 'rate_limited', count: 1 },
      { key: 'acct-2', outcome: 'ok', count: 1 },
    ]);
  });

  it('says so and exits 1 when the gateway has no key pools', async () => {
    const run = await keysStatus('--url', plain.url);

    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`piapi: the gateway at ${plain.url} has no key pools (its /metrics shows no piapi_provider_key_available)\n`);
  });

  it('says so and exits 1 when nothing answers at the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await keysStatus('--url', url);

    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`piapi: cannot reach the gateway at ${url}: ECONNREFUSED\n`);
  });

  it('says so and exits 1 when the URL answers something that is not a gateway', async () => {
    const run = await keysStatus('--url', upstream.url);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^piapi: http:\/\/127\.0\.0\.1:\d+\/metrics is not Prometheus text: line 1 /);
  });
});
