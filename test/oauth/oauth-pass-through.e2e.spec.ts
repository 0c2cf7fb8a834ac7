import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OAuthCredentials } from '@mariozechner/pi-ai/oauth';
import { writeCredentialsFile } from '../../src/providers/credentials-file.js';
import { readCodexAccountId } from '../fakes/fake-jwt.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { FAKE_ACCOUNT_ID, startFakeOAuthServer, type FakeOAuthServer } from './fake-oauth-server.js';
import { routeHostsTo } from './host-routing.js';

const USER_KEY = 'piapi-user-oauth-0123456789';

let oauth: FakeOAuthServer;
let unroute: () => Promise<void>;
let upstream: RecordingUpstream;
let gateway: TestGateway | undefined;
let credentialsDir: string;

beforeAll(async () => {
  oauth = await startFakeOAuthServer();
  unroute = routeHostsTo(oauth.url);
  upstream = await startRecordingUpstream();
});
afterAll(async () => {
  await unroute();
  await oauth.close();
  await upstream.close();
});
afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
  await rm(credentialsDir, { recursive: true, force: true });
});

/** A gateway whose `cx` service (the ChatGPT backend's place) is backed by an openai-codex OAuth key. */
async function gatewayWithCodexKey(credentials: OAuthCredentials): Promise<TestGateway> {
  credentialsDir = await mkdtemp(join(tmpdir(), 'piapi-oauth-e2e-'));
  const credentialsFile = join(credentialsDir, 'chatgpt-team.json');
  await writeCredentialsFile(credentialsFile, credentials);
  return startTestGateway(`
providers:
  - name: chatgpt
    apiKeys:
      chatgpt-team: { oauth: openai-codex, credentialsFile: ${JSON.stringify(credentialsFile)} }
    services:
      - type: cx
        baseUrl: ${upstream.url}/backend-api/codex
users:
  - { name: dev, apiKey: ${USER_KEY}, providerName: chatgpt, providerKeyName: chatgpt-team }
`);
}

function postResponses(gw: TestGateway): Promise<Response> {
  return fetch(`${gw.url}/piapi/cx/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${USER_KEY}`, 'content-type': 'application/json', originator: 'codex_exec' },
    body: JSON.stringify({ model: 'gpt-5.1-codex', input: 'hi', stream: false }),
  });
}

describe('pass-through with an OAuth-backed provider key', () => {
  it('forwards with the access token as bearer and the ChatGPT account id header', async () => {
    const credentials = oauth.issue('openai-codex');
    gateway = await gatewayWithCodexKey(credentials);

    const res = await postResponses(gateway);

    expect(res.status).toBe(200);
    const sent = upstream.requests.at(-1)!;
    expect(sent.url).toBe('/backend-api/codex/responses');
    expect(sent.headers.authorization).toBe(`Bearer ${credentials.access}`);
    expect(sent.headers['chatgpt-account-id']).toBe(FAKE_ACCOUNT_ID);
    expect(sent.headers['openai-beta']).toBe('responses=experimental');
    // The client's own identity passes through.
    expect(sent.headers.originator).toBe('codex_exec');
    expect(oauth.refreshes['openai-codex']).toBe(0);
  });

  it('refreshes an expired token first, forwards the new one and saves the rotated credentials', async () => {
    const before = oauth.refreshes['openai-codex'];
    const expired = oauth.issue('openai-codex', { expiresInMs: -60_000 });
    gateway = await gatewayWithCodexKey(expired);

    const responses = await Promise.all(Array.from({ length: 10 }, () => postResponses(gateway!)));

    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(oauth.refreshes['openai-codex'] - before).toBe(1);
    const saved = JSON.parse(await readFile(join(credentialsDir, 'chatgpt-team.json'), 'utf8')) as OAuthCredentials;
    expect(saved.access).not.toBe(expired.access);
    const forwarded = upstream.requests.slice(-10);
    for (const sent of forwarded) {
      expect(sent.headers.authorization).toBe(`Bearer ${saved.access}`);
      expect(readCodexAccountId(saved.access)).toBe(sent.headers['chatgpt-account-id']);
    }
  });

  it('answers 502 with a clear message and no token when the refresh is refused', async () => {
    const expired = oauth.issue('openai-codex', { expiresInMs: -60_000 });
    gateway = await gatewayWithCodexKey(expired);
    oauth.failRefreshesWith(401);
    const sentBefore = upstream.requests.length;
    try {
      const res = await postResponses(gateway);
      const text = await res.text();

      expect(res.status).toBe(502);
      expect(text).toContain('Provider key \\"chatgpt-team\\": OAuth token refresh failed');
      expect(text).not.toContain(expired.refresh);
      expect(text).not.toContain(expired.access);
      expect(upstream.requests.length).toBe(sentBefore);
    } finally {
      oauth.failRefreshesWith(undefined);
    }
  });
});
