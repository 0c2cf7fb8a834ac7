import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OAuthCredentials } from '@mariozechner/pi-ai/oauth';
import { startFakeOAuthServer, type FakeOAuthProvider, type FakeOAuthServer } from '../../test/oauth/fake-oauth-server.js';
import { routeHostsTo } from '../../test/oauth/host-routing.js';
import { GatewayError } from '../errors/gateway-error.js';
import { writeCredentialsFile } from './credentials-file.js';
import { OAuthCredentialStore, type OAuthKeyRef } from './oauth-credential-store.js';

let fake: FakeOAuthServer;
let unroute: () => Promise<void>;
let dir: string;

beforeAll(async () => {
  fake = await startFakeOAuthServer();
  unroute = routeHostsTo(fake.url);
});
afterAll(async () => {
  await unroute();
  await fake.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'piapi-oauth-store-'));
  fake.setRefreshDelay(0);
  fake.setTokenLifetime(3_600_000);
  fake.failRefreshesWith(undefined);
  fake.refreshes['openai-codex'] = 0;
  fake.refreshes.anthropic = 0;
  fake.refreshes['github-copilot'] = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function credentialsFile(provider: FakeOAuthProvider, expiresInMs?: number): Promise<{ key: OAuthKeyRef; issued: OAuthCredentials }> {
  const issued = fake.issue(provider, { expiresInMs });
  const path = join(dir, `${provider}.json`);
  await writeCredentialsFile(path, issued);
  return { key: { name: 'team-key', oauth: provider, credentialsFile: path }, issued };
}

async function savedCredentials(key: OAuthKeyRef): Promise<OAuthCredentials> {
  return JSON.parse(await readFile(key.credentialsFile, 'utf8')) as OAuthCredentials;
}

describe('OAuthCredentialStore', () => {
  it('serves the saved access token without refreshing while it is far from expiry', async () => {
    const { key, issued } = await credentialsFile('openai-codex');
    const store = new OAuthCredentialStore();

    const access = await store.access(key);

    expect(access.token).toBe(issued.access);
    expect(fake.refreshes['openai-codex']).toBe(0);
  });

  it('refreshes a token that expires within the margin, before it has expired', async () => {
    const { key, issued } = await credentialsFile('openai-codex', 2 * 60_000);
    const store = new OAuthCredentialStore({ refreshMarginMs: 5 * 60_000 });

    const access = await store.access(key);

    expect(fake.refreshes['openai-codex']).toBe(1);
    expect(access.token).not.toBe(issued.access);
    expect(access.credentials.expires).toBeGreaterThan(Date.now() + 50 * 60_000);
  });

  it('answers 50 concurrent requests at expiry with exactly one refresh, all with the new token', async () => {
    const { key } = await credentialsFile('openai-codex', -1000);
    fake.setRefreshDelay(200);
    const store = new OAuthCredentialStore();

    const tokens = await Promise.all(Array.from({ length: 50 }, () => store.access(key).then((a) => a.token)));

    expect(fake.refreshes['openai-codex']).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toBe((await savedCredentials(key)).access);
    expect(fake.reusedRefreshTokens).toEqual([]);
  });

  it('saves rotated credentials atomically with mode 0600, leaving no temp file behind', async () => {
    const { key, issued } = await credentialsFile('openai-codex', -1000);
    const store = new OAuthCredentialStore();

    const access = await store.access(key);

    const saved = await savedCredentials(key);
    expect(saved).toEqual(access.credentials);
    expect(saved.refresh).not.toBe(issued.refresh);
    expect(saved.accountId).toBe(issued.accountId);
    expect((await stat(key.credentialsFile)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['openai-codex.json']);
  });

  it('presents each rotated refresh token once and never an old one again', async () => {
    const { key } = await credentialsFile('openai-codex', -1000);
    // Tokens that are born inside the margin: every request refreshes.
    fake.setTokenLifetime(60_000);
    const store = new OAuthCredentialStore({ refreshMarginMs: 5 * 60_000 });

    for (let i = 0; i < 4; i++) await store.access(key);

    expect(fake.refreshes['openai-codex']).toBe(4);
    expect(fake.reusedRefreshTokens).toEqual([]);
  });

  it('re-reads the file when another process rewrote it, and serves its token without refreshing', async () => {
    const { key, issued } = await credentialsFile('openai-codex');
    const store = new OAuthCredentialStore();
    expect((await store.access(key)).token).toBe(issued.access);

    const relogged = fake.issue('openai-codex');
    await writeCredentialsFile(key.credentialsFile, relogged);

    expect((await store.access(key)).token).toBe(relogged.access);
    expect(fake.refreshes['openai-codex']).toBe(0);
  });

  it('lets two processes sharing a file (two replicas) refresh it once between them', async () => {
    const { key } = await credentialsFile('openai-codex', -1000);
    fake.setRefreshDelay(150);
    const replicaA = new OAuthCredentialStore();
    const replicaB = new OAuthCredentialStore();

    const tokens = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? replicaA : replicaB).access(key).then((a) => a.token)),
    );

    expect(fake.refreshes['openai-codex']).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(fake.reusedRefreshTokens).toEqual([]);
  });

  it('refreshes anthropic credentials through pi-ai', async () => {
    const { key, issued } = await credentialsFile('anthropic', -1000);
    const access = await new OAuthCredentialStore().access(key);

    expect(fake.refreshes.anthropic).toBe(1);
    expect(access.token).toMatch(/^sk-ant-oat01-fake-access-/);
    expect(access.token).not.toBe(issued.access);
    expect((await savedCredentials(key)).refresh).not.toBe(issued.refresh);
  });

  it('refreshes a github-copilot token with the saved GitHub token, which stays the same', async () => {
    const { key, issued } = await credentialsFile('github-copilot', -1000);
    const access = await new OAuthCredentialStore().access(key);

    expect(fake.refreshes['github-copilot']).toBe(1);
    expect(access.token).toMatch(/^tid=fake/);
    expect((await savedCredentials(key)).refresh).toBe(issued.refresh);
  });

  it('fails an expired key whose refresh is refused with a GatewayError naming the key and no token', async () => {
    const { key, issued } = await credentialsFile('openai-codex', -1000);
    fake.failRefreshesWith(401);
    const store = new OAuthCredentialStore();

    const error = await store.access(key).then(
      () => undefined,
      (err: unknown) => err,
    );

    expect(error).toBeInstanceOf(GatewayError);
    const message = (error as GatewayError).message;
    expect(message).toContain('Provider key "team-key"');
    expect(message).toContain('OAuth token refresh failed');
    expect(message).toContain('piapi login openai-codex');
    expect(message).not.toContain(issued.access);
    expect(message).not.toContain(issued.refresh);
    expect((error as GatewayError).status).toBe(502);
  });

  it('keeps serving a token that is still valid when its early refresh fails, and warns once', async () => {
    const { key, issued } = await credentialsFile('openai-codex', 60_000);
    fake.failRefreshesWith(500);
    const warnings: string[] = [];
    const store = new OAuthCredentialStore({ warn: (m) => warnings.push(m) });

    const first = await store.access(key);
    const second = await store.access(key);

    expect(first.token).toBe(issued.access);
    expect(second.token).toBe(issued.access);
    // The second request falls in the failure back-off: no new attempt, no new warning.
    expect(fake.upstream.requests.filter((r) => r.path === '/oauth/token').length).toBeGreaterThan(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('using the current token until it expires');
    expect(warnings[0]).not.toContain(issued.refresh);
  });

  it('reports a missing or malformed credentials file clearly, without its contents', async () => {
    const store = new OAuthCredentialStore();
    const missing = { name: 'k', oauth: 'openai-codex', credentialsFile: join(dir, 'absent.json') };
    await expect(store.access(missing)).rejects.toThrow(/Provider key "k": cannot read .*absent\.json: ENOENT/);

    const path = join(dir, 'bad.json');
    await writeFile(path, JSON.stringify({ access: 'secret-looking-value', expires: 'soon' }));
    const error = (await store.access({ ...missing, credentialsFile: path }).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/does not hold OAuth credentials \(expected "access", "refresh" and "expires"\)/);
    expect(error.message).not.toContain('secret-looking-value');
  });

  it('refuses an OAuth provider it cannot refresh', async () => {
    const store = new OAuthCredentialStore();
    await expect(store.access({ name: 'k', oauth: 'google', credentialsFile: join(dir, 'x.json') })).rejects.toThrow(
      'unknown OAuth provider "google" (supported: openai-codex, anthropic, github-copilot)',
    );
  });
});

describe('OAuthCredentialStore with a slow or interrupted refresh', () => {
  it('stops waiting for a slow refresh of an expired token, and still saves its rotated credentials', async () => {
    const { key, issued } = await credentialsFile('openai-codex', -1000);
    fake.setRefreshDelay(600);
    const store = new OAuthCredentialStore({ refreshWaitMs: 100 });

    await expect(store.access(key)).rejects.toThrow('OAuth token refresh took longer than 100 ms');
    await new Promise((resolve) => setTimeout(resolve, 800));

    const saved = await savedCredentials(key);
    expect(saved.refresh).not.toBe(issued.refresh);
    expect((await store.access(key)).token).toBe(saved.access);
    expect(fake.refreshes['openai-codex']).toBe(1);
    expect(fake.reusedRefreshTokens).toEqual([]);
  });

  it('takes over a lock file left behind by a dead process on this host', async () => {
    const { key } = await credentialsFile('openai-codex', -1000);
    await writeFile(`${key.credentialsFile}.lock`, `${hostname()} 999999999`);
    const store = new OAuthCredentialStore({ lock: { waitMs: 200, staleMs: 600_000 } });

    await store.access(key);

    expect(fake.refreshes['openai-codex']).toBe(1);
    await expect(stat(`${key.credentialsFile}.lock`)).rejects.toThrow(/ENOENT/);
  });

  it('waits for a live holder of the lock, then fails an expired key clearly', async () => {
    const { key } = await credentialsFile('openai-codex', -1000);
    await writeFile(`${key.credentialsFile}.lock`, `${hostname()} ${process.pid}`);
    const store = new OAuthCredentialStore({ lock: { waitMs: 200, staleMs: 600_000 } });

    await expect(store.access(key)).rejects.toThrow(/timed out waiting for .*\.lock \(another process is refreshing these credentials\)/);
    expect(fake.refreshes['openai-codex']).toBe(0);
  });
});
