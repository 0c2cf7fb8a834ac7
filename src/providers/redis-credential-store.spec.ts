import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OAuthCredentials } from '@mariozechner/pi-ai/oauth';
import { startFakeOAuthServer, type FakeOAuthServer } from '../../test/oauth/fake-oauth-server.js';
import { routeHostsTo } from '../../test/oauth/host-routing.js';
import { TestRedis } from '../../test/support/redis-server.js';
import { DEFAULT_REDIS } from '../config/gateway-config.js';
import { GatewayError } from '../errors/gateway-error.js';
import { RedisStateStore } from '../state/redis-state-store.js';
import { writeCredentialsFile } from './credentials-file.js';
import { RedisCredentialStore, type SharedOAuthKey } from './redis-credential-store.js';

// A real redis-server and pi-ai's real refresh against a fake OAuth server on 127.0.0.1.

let redis: TestRedis;
let oauth: FakeOAuthServer;
let unroute: () => Promise<void>;
let dir: string;
const stores: RedisStateStore[] = [];

beforeAll(async () => {
  redis = await TestRedis.start();
  oauth = await startFakeOAuthServer();
  unroute = routeHostsTo(oauth.url);
});
afterAll(async () => {
  await unroute();
  await oauth.close();
  await redis.stop();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'piapi-redis-creds-'));
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  redis.resume();
  await redis.restart();
  await rm(dir, { recursive: true, force: true });
});

function openStore(): RedisStateStore {
  const store = new RedisStateStore({ ...DEFAULT_REDIS, url: redis.url, keyPrefix: 'spec:', commandTimeoutMs: 200 }, { availability: () => undefined, failure: () => undefined });
  stores.push(store);
  return store;
}

async function keyWithFile(credentials: OAuthCredentials): Promise<SharedOAuthKey> {
  const credentialsFile = join(dir, 'acct.json');
  await writeCredentialsFile(credentialsFile, credentials);
  return { name: 'acct', provider: 'chatgpt', oauth: 'openai-codex', credentialsFile };
}

async function stored(): Promise<OAuthCredentials | null> {
  const plain = redis.client();
  try {
    return JSON.parse((await plain.get('spec:oauth:chatgpt:acct')) ?? 'null') as OAuthCredentials | null;
  } finally {
    plain.disconnect();
  }
}

describe('RedisCredentialStore', () => {
  it('seeds Redis from the file once, and never overwrites credentials Redis already holds', async () => {
    const inRedis = oauth.issue('openai-codex');
    const inFile = oauth.issue('openai-codex');
    const plain = redis.client();
    await plain.set('spec:oauth:chatgpt:acct', JSON.stringify(inRedis));
    plain.disconnect();

    const access = await new RedisCredentialStore().access(await keyWithFile(inFile), openStore());

    expect(access.token).toBe(inRedis.access);
    expect((await stored())?.refresh).toBe(inRedis.refresh);
  });

  it('writes the file into an empty Redis, and answers with a clear error when neither has credentials', async () => {
    const inFile = oauth.issue('openai-codex');
    const credentials = new RedisCredentialStore();
    expect((await credentials.access(await keyWithFile(inFile), openStore())).token).toBe(inFile.access);
    expect((await stored())?.refresh).toBe(inFile.refresh);

    const missing = await new RedisCredentialStore().access({ name: 'other', provider: 'chatgpt', oauth: 'openai-codex' }, openStore()).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(GatewayError);
    expect((missing as Error).message).toContain('run "piapi login openai-codex --redis --provider-name chatgpt --key-name other"');
  });

  it('refreshes once for two stores (two processes) at the same time, both getting the rotated token', async () => {
    const before = oauth.refreshes['openai-codex'];
    const key = await keyWithFile(oauth.issue('openai-codex', { expiresInMs: -1_000 }));
    oauth.setRefreshDelay(300);
    try {
      const [a, b] = await Promise.all([new RedisCredentialStore().access(key, openStore()), new RedisCredentialStore().access(key, openStore())]);
      expect(oauth.refreshes['openai-codex'] - before).toBe(1);
      expect(a.token).toBe(b.token);
      expect((await stored())?.access).toBe(a.token);
    } finally {
      oauth.setRefreshDelay(0);
    }
  });

  it('keeps serving the last token read while Redis does not answer, and fails clearly once it has none', async () => {
    const valid = oauth.issue('openai-codex');
    const key = await keyWithFile(valid);
    const store = openStore();
    const credentials = new RedisCredentialStore();
    await credentials.access(key, store);

    redis.pause();
    expect((await credentials.access(key, store)).token).toBe(valid.access);
    const fresh = await new RedisCredentialStore().access(key, store).catch((e: unknown) => e);
    expect((fresh as Error).message).toContain('OAuth credentials are kept in the state store (Redis), which is unavailable');
  });

  it('saves rotated credentials Redis could not take on a later request', async () => {
    const key = await keyWithFile(oauth.issue('openai-codex', { expiresInMs: -1_000 }));
    const store = openStore();
    const credentials = new RedisCredentialStore();
    // Seed, then make the refresh slow enough to pause Redis before the write.
    oauth.setRefreshDelay(400);
    const pending = credentials.access(key, store);
    await new Promise((r) => setTimeout(r, 200));
    redis.pause();
    try {
      const refreshed = await pending;
      redis.resume();
      // The next request writes what the refresh got: the old refresh token no longer works.
      await credentials.access(key, store);
      expect((await stored())?.refresh).toBe(refreshed.credentials.refresh);
    } finally {
      redis.resume();
      oauth.setRefreshDelay(0);
    }
  });
});
