import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OAuthCredentials } from '@mariozechner/pi-ai/oauth';
import { writeCredentialsFile } from '../../src/providers/credentials-file.js';
import { killGateway, spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { TestRedis } from '../support/redis-server.js';
import { FAKE_ACCOUNT_ID, startFakeOAuthServer, type FakeOAuthServer } from './fake-oauth-server.js';
import { hostRoutingNodeArgs } from './host-routing.js';

// Two gateway processes as two replicas without a shared volume: each has its own copy of the
// same (expired) ChatGPT login; Redis is what they share.
vi.setConfig({ testTimeout: 60_000 });

const USER_KEY = 'piapi-user-oauth-redis-000001';
const REDIS_KEY = 'fleet:oauth:chatgpt:chatgpt-team';

function configYaml(redisUrl: string, upstreamUrl: string, credentialsFile: string): string {
  return `state:
  redis: { url: ${redisUrl}, keyPrefix: "fleet:" }
providers:
  - name: chatgpt
    apiKeys:
      chatgpt-team: { oauth: openai-codex, credentialsFile: ${JSON.stringify(credentialsFile)} }
    services:
      - type: cx
        baseUrl: ${upstreamUrl}/backend-api/codex
users:
  - { name: dev, apiKey: ${USER_KEY}, providerName: chatgpt, providerKeyName: chatgpt-team }
`;
}

function postResponses(gw: GatewayProcess): Promise<Response> {
  return fetch(`${gw.url}/piapi/cx/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${USER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-5.1-codex', input: 'hi', stream: false }),
  });
}

describe('an OAuth login shared by two gateway processes through Redis', () => {
  let redis: TestRedis;
  let oauth: FakeOAuthServer;
  let upstream: RecordingUpstream;
  let dir: string;
  let expired: OAuthCredentials;
  let gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    redis = await TestRedis.start();
    oauth = await startFakeOAuthServer();
    upstream = await startRecordingUpstream();
    dir = await mkdtemp(join(tmpdir(), 'piapi-oauth-redis-'));
    expired = oauth.issue('openai-codex', { expiresInMs: -60_000 });
    const routing = await hostRoutingNodeArgs(dir, oauth.url);
    gateways = await Promise.all(
      ['a', 'b'].map(async (replica) => {
        const credentialsFile = join(dir, `${replica}.json`);
        await writeCredentialsFile(credentialsFile, expired);
        const configPath = join(dir, `${replica}.yaml`);
        await writeFile(configPath, configYaml(redis.url, upstream.url, credentialsFile));
        return spawnGateway(configPath, {}, process.execPath, routing);
      }),
    );
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => killGateway(g)));
    await upstream.close();
    await oauth.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refreshes exactly once for 20 concurrent requests across both, and every request carries the new token', async () => {
    // Long enough for every request to arrive while the one refresh is running.
    oauth.setRefreshDelay(400);

    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => postResponses(gateways[i % 2])));

    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(oauth.refreshes['openai-codex']).toBe(1);
    expect(oauth.reusedRefreshTokens).toEqual([]);

    const plain = redis.client();
    let shared: OAuthCredentials;
    try {
      shared = JSON.parse((await plain.get(REDIS_KEY)) ?? 'null') as OAuthCredentials;
      expect(await plain.pttl(REDIS_KEY)).toBe(-1);
    } finally {
      plain.disconnect();
    }
    expect(shared.access).not.toBe(expired.access);
    expect(shared.refresh).not.toBe(expired.refresh);
    const forwarded = upstream.requests.slice(-20);
    expect(forwarded).toHaveLength(20);
    for (const sent of forwarded) {
      expect(sent.headers.authorization).toBe(`Bearer ${shared.access}`);
      expect(sent.headers['chatgpt-account-id']).toBe(FAKE_ACCOUNT_ID);
    }
  });

  it('leaves the seed files as they were and never logs a token', async () => {
    for (const replica of ['a', 'b']) {
      const seed = JSON.parse(await readFile(join(dir, `${replica}.json`), 'utf8')) as OAuthCredentials;
      expect(seed.refresh).toBe(expired.refresh);
    }
    const plain = redis.client();
    const shared = JSON.parse((await plain.get(REDIS_KEY)) ?? 'null') as OAuthCredentials;
    plain.disconnect();
    // The log is flushed every 250 ms.
    await new Promise((r) => setTimeout(r, 500));
    for (const gw of gateways) {
      const out = gw.output();
      expect(out).toContain('"request_id"');
      for (const secret of [expired.access, expired.refresh, shared.access, shared.refresh]) expect(out).not.toContain(secret);
    }
  });

  it('uses credentials a login wrote to Redis at once, without a restart', async () => {
    const fresh = oauth.issue('openai-codex');
    const plain = redis.client();
    await plain.set(REDIS_KEY, JSON.stringify(fresh));
    plain.disconnect();

    const responses = await Promise.all([postResponses(gateways[0]), postResponses(gateways[1])]);

    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    for (const sent of upstream.requests.slice(-2)) expect(sent.headers.authorization).toBe(`Bearer ${fresh.access}`);
  });
});
