import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/config-loader.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { rawExchange, rawRequest } from './support/raw-http.js';

const ALPHA_KEY = 'piapi-user-auth-alpha-0000001';
const BETA_KEY = 'piapi-user-auth-beta-00000002';
/** Configured only as a hash. */
const HASHED_KEY = 'piapi-user-auth-hashed-000003';
const PROVIDER_SECRETS = ['sk-auth-alpha-provider-secret-1', 'sk-auth-beta-provider-secret-22'];

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Every key one byte away from `key`: each position changed, dropped, doubled; one byte more or less; case flips. */
function nearMisses(key: string): string[] {
  const out = new Set<string>();
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    out.add(key.slice(0, i) + String.fromCharCode(c === 0x7a ? 0x61 : c + 1) + key.slice(i + 1));
    out.add(key.slice(0, i) + key.slice(i + 1));
    const flipped = key[i].toUpperCase() === key[i] ? key[i].toLowerCase() : key[i].toUpperCase();
    if (flipped !== key[i]) out.add(key.slice(0, i) + flipped + key.slice(i + 1));
  }
  out.add(`${key}x`);
  out.add(`x${key}`);
  out.delete(key);
  return [...out];
}

interface Answer {
  status: number;
  body: string;
  message: string;
}

describe('hostile auth', () => {
  let upstream: RecordingUpstream;
  let gw: TestGateway;
  let port: number;

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    gw = await startTestGateway(`
providers:
  - name: alpha
    apiKeys: { k: ${PROVIDER_SECRETS[0]} }
    services: [{ type: cx, baseUrl: ${upstream.url}/alpha }]
  - name: beta
    apiKeys: { k: ${PROVIDER_SECRETS[1]} }
    services: [{ type: cc, baseUrl: ${upstream.url}/beta, auth: { mode: header, name: x-api-key } }]
users:
  - { name: alpha-user, apiKey: ${ALPHA_KEY}, providerName: alpha, providerKeyName: k }
  - { name: beta-user, apiKey: ${BETA_KEY}, providerName: beta, providerKeyName: k }
  - { name: hashed-user, apiKeyHash: "sha256:${sha256(HASHED_KEY)}", providerName: alpha, providerKeyName: k }
`);
    port = Number(new URL(gw.url).port);
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });

  async function ask(path: string, headers: Record<string, string>): Promise<Answer> {
    const post = path.startsWith('/v1/');
    const res = await rawExchange(port, rawRequest(path, post ? { ...headers, 'content-type': 'application/json' } : headers, post ? 'POST' : 'GET', post ? '{}' : ''));
    let message: string;
    try {
      const parsed = JSON.parse(res.body) as { error?: { message?: string } };
      message = parsed.error?.message ?? '';
    } catch {
      message = `<not JSON: ${res.body.slice(0, 80)}>`;
    }
    return { status: res.status, body: res.body, message };
  }

  it('accepts the real keys (the near misses below differ only by what they get wrong)', async () => {
    for (const [key, path] of [
      [ALPHA_KEY, '/piapi/cx/ok'],
      [BETA_KEY, '/piapi/cc/ok'],
      [HASHED_KEY, '/piapi/cx/ok'],
    ]) {
      expect((await ask(path, { 'x-api-key': key })).status).toBe(200);
      expect((await ask(path, { authorization: `Bearer ${key}` })).status).toBe(200);
    }
  });

  it.each([
    ['a plain key', ALPHA_KEY, '/piapi/cx/x'],
    ['a hashed key', HASHED_KEY, '/piapi/cx/x'],
    ['a plain key on /v1/messages', BETA_KEY, '/v1/messages'],
  ])('refuses every key one byte off %s with the same 401 as an unknown key', async (_name, key, path) => {
    const before = upstream.requests.length;
    const unknown = await ask(path, { 'x-api-key': 'piapi-user-nobody-at-all-000' });
    expect(unknown.status).toBe(401);
    const misses = nearMisses(key);
    expect(misses.length).toBeGreaterThan(50);
    for (const miss of misses) {
      for (const headers of [{ 'x-api-key': miss }, { authorization: `Bearer ${miss}` }] as Record<string, string>[]) {
        const answer = await ask(path, headers);
        expect(answer.status, miss).toBe(401);
        // Nothing tells "almost right" from "wrong": same status, same message, no echo of the key.
        expect(answer.message).toBe(unknown.message);
        expect(answer.body).not.toContain(miss);
      }
    }
    expect(upstream.requests.length).toBe(before);
  });

  it.each([
    ['a space inside (x-api-key)', { 'x-api-key': `${ALPHA_KEY.slice(0, 8)} ${ALPHA_KEY.slice(8)}` }],
    ['a tab inside (x-api-key)', { 'x-api-key': `${ALPHA_KEY.slice(0, 8)}\t${ALPHA_KEY.slice(8)}` }],
    ['a space inside (Bearer)', { authorization: `Bearer ${ALPHA_KEY.slice(0, 8)} ${ALPHA_KEY.slice(8)}` }],
    ['a non-breaking space inside', { 'x-api-key': `${ALPHA_KEY.slice(0, 8)}\u00a0${ALPHA_KEY.slice(8)}` }],
    ['text after the bearer token', { authorization: `Bearer ${ALPHA_KEY} extra` }],
    ['Basic instead of Bearer', { authorization: `Basic ${Buffer.from(`${ALPHA_KEY}:`).toString('base64')}` }],
    ['the bare key in Authorization', { authorization: ALPHA_KEY }],
    ['Bearer with no token', { authorization: 'Bearer' }],
    ['an empty x-api-key', { 'x-api-key': '' }],
    ['the key quoted', { 'x-api-key': `"${ALPHA_KEY}"` }],
    ['the key percent-encoded', { 'x-api-key': encodeURIComponent(ALPHA_KEY).replace('-', '%2D') }],
    ['the provider key itself', { 'x-api-key': PROVIDER_SECRETS[0] }],
    ['the sha256 of a key', { 'x-api-key': sha256(HASHED_KEY) }],
    ['the configured hash string', { 'x-api-key': `sha256:${sha256(HASHED_KEY)}` }],
    ['two different keys', { 'x-api-key': ALPHA_KEY, authorization: `Bearer ${BETA_KEY}` }],
  ])('refuses %s with 401 and forwards nothing', async (_name, headers) => {
    const before = upstream.requests.length;
    const answer = await ask('/piapi/cx/x', headers);
    expect(answer.status).toBe(401);
    expect(answer.message).toMatch(/^(Invalid API key|Missing API key)/);
    expect(upstream.requests.length).toBe(before);
  });

  it('refuses a key sent in the query string', async () => {
    const answer = await ask(`/piapi/cx/x?api_key=${ALPHA_KEY}&key=${ALPHA_KEY}`, {});
    expect(answer.status).toBe(401);
  });

  it("answers 404 for a user's key on another provider's service type, and 401 before that for a stranger", async () => {
    const before = upstream.requests.length;
    const alphaOnBeta = await ask('/piapi/cc/v1/messages', { 'x-api-key': ALPHA_KEY });
    expect(alphaOnBeta.status).toBe(404);
    expect(alphaOnBeta.message).not.toContain('beta');
    const betaOnAlpha = await ask('/piapi/cx/v1/responses', { authorization: `Bearer ${BETA_KEY}` });
    expect(betaOnAlpha.status).toBe(404);
    expect(betaOnAlpha.message).not.toContain('alpha');
    // A stranger learns nothing about which service types exist.
    const strangerOnReal = await ask('/piapi/cx/x', { 'x-api-key': 'piapi-user-nobody-at-all-000' });
    const strangerOnNothing = await ask('/piapi/zz/x', { 'x-api-key': 'piapi-user-nobody-at-all-000' });
    expect(strangerOnReal.status).toBe(401);
    expect(strangerOnNothing).toMatchObject({ status: 401, message: strangerOnReal.message });
    expect(upstream.requests.length).toBe(before);
  });

  it('answers 404, not 5xx, on /v1/messages for a provider without an llm block', async () => {
    const res = await request(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': ALPHA_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.statusCode).toBe(404);
    await res.body.text();
  });

  it('never puts a key into logs while refusing all of the above', () => {
    for (const secret of [ALPHA_KEY, BETA_KEY, HASHED_KEY, ...PROVIDER_SECRETS]) expect(gw.logs.text).not.toContain(secret);
  });
});

describe('auth config edge cases', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'piapi-auth-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const load = async (users: string) => {
    const path = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(path, `providers:\n  - name: p\n    apiKeys: { k: sk-auth-config-secret-00000001 }\n    services: [{ type: cx, baseUrl: http://127.0.0.1:9 }]\n${users}`);
    return loadConfigFile(path);
  };

  it('serves with `users: []` and refuses every key with 401', async () => {
    const gw = await startTestGateway(`
providers:
  - name: p
    apiKeys: { k: sk-auth-empty-users-secret-01 }
    services: [{ type: cx, baseUrl: http://127.0.0.1:9 }]
users: []
`);
    try {
      const port = Number(new URL(gw.url).port);
      for (const headers of [{}, { 'x-api-key': ALPHA_KEY }, { authorization: `Bearer ${ALPHA_KEY}` }, { 'x-api-key': '' }] as Record<string, string>[]) {
        const res = await rawExchange(port, rawRequest('/piapi/cx/x', headers));
        expect(res.status).toBe(401);
      }
      const messages = await rawExchange(port, rawRequest('/v1/messages', { 'x-api-key': ALPHA_KEY, 'content-type': 'application/json' }, 'POST', '{}'));
      expect(messages.status).toBe(401);
    } finally {
      await gw.stop();
    }
  });

  it.each([
    ['63 hex digits', `sha256:${sha256('x').slice(1)}`],
    ['65 hex digits', `sha256:${sha256('x')}0`],
    ['no digits', 'sha256:'],
    ['upper-case hex', `sha256:${sha256('x').toUpperCase()}`],
    ['no prefix', sha256('x')],
    ['another algorithm', `sha1:${sha256('x').slice(0, 40)}`],
    ['non-hex characters', `sha256:${'g'.repeat(64)}`],
    ['whitespace inside', `sha256:${sha256('x').slice(0, 32)} ${sha256('x').slice(33)}`],
  ])('rejects an apiKeyHash with %s, naming the field', async (_name, hash) => {
    const result = await load(`users:\n  - { name: u, apiKeyHash: "${hash}", providerName: p, providerKeyName: k }\n`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.join('\n')).toMatch(/users\[0\]\.apiKeyHash/);
  });

  it.each([
    ['too short', 'piapi-short'],
    ['whitespace inside', 'piapi-user with-space-0001'],
  ])('rejects a user apiKey %s without echoing it', async (_name, key) => {
    const result = await load(`users:\n  - { name: u, apiKey: "${key}", providerName: p, providerKeyName: k }\n`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = result.errors.join('\n');
    expect(text).toMatch(/users\[0\]\.apiKey/);
    expect(text).not.toContain(key);
  });

  it('rejects a user with both apiKey and apiKeyHash, and two users with the same key', async () => {
    const both = await load(`users:\n  - { name: u, apiKey: ${ALPHA_KEY}, apiKeyHash: "sha256:${sha256(ALPHA_KEY)}", providerName: p, providerKeyName: k }\n`);
    expect(both.ok).toBe(false);
    const duplicate = await load(
      `users:\n  - { name: u, apiKey: ${ALPHA_KEY}, providerName: p, providerKeyName: k }\n  - { name: v, apiKeyHash: "sha256:${sha256(ALPHA_KEY)}", providerName: p, providerKeyName: k }\n`,
    );
    expect(duplicate.ok).toBe(false);
    if (!duplicate.ok) expect(duplicate.errors.join('\n')).toMatch(/duplicate user key/);
  });
});
