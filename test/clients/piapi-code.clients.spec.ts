import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OAuthCredentials } from '@mariozechner/pi-ai/oauth';
import { writeCredentialsFile } from '../../src/providers/credentials-file.js';
import { runPiapi, type CliRun } from '../cli/cli-process.js';
import { startOpenAIResponsesFake } from '../fakes/openai-responses.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { FAKE_ACCOUNT_ID, startFakeOAuthServer, type FakeOAuthServer } from '../oauth/fake-oauth-server.js';
import { hostRoutingNodeArgs } from '../oauth/host-routing.js';
import { claudeBin } from './clients.js';
import { freePort } from '../support/free-port.js';

// `piapi code` running the real Claude Code: piapi starts the gateway in-process, Claude Code
// talks to its /v1/messages, pi-ai calls a fake ChatGPT Codex backend with a subscription login
// (an openai-codex OAuth key) that piapi refreshes first against a fake token endpoint.

const USER_KEY = 'piapi-user-code-0123456789';

let home: string;
let oauth: FakeOAuthServer;
let fake: ProviderFake;

beforeAll(async () => {
  oauth = await startFakeOAuthServer();
  // The codex flavor checks the JWT and chatgpt-account-id header like the ChatGPT backend.
  fake = await startOpenAIResponsesFake({ text: ['Hello ', 'from your ', 'subscription.'] }, { flavor: 'codex' });
}, 120_000);
afterAll(async () => {
  await fake.close();
  await oauth.close();
});
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'piapi-code-cli-'));
  await mkdir(join(home, 'project'));
});
afterEach(() => rm(home, { recursive: true, force: true }));


function explain(run: CliRun): string {
  return `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

describe('piapi code with the real Claude Code', () => {
  it('answers a prompt through a session gateway on a refreshed ChatGPT login', async () => {
    const credentialsFile = join(home, 'chatgpt.json');
    const expired = oauth.issue('openai-codex', { expiresInMs: -60_000 });
    await writeCredentialsFile(credentialsFile, expired);
    const config = join(home, 'config.yaml');
    await writeFile(
      config,
      `listen: "127.0.0.1:${await freePort()}"
providers:
  - name: chatgpt
    apiKeys:
      team: { oauth: openai-codex, credentialsFile: "${credentialsFile}" }
    llm: { provider: openai-codex, api: openai-codex-responses, baseUrl: "${fake.url}", defaultModel: gpt-5.1-codex-mini }
models:
  default: gpt-5.1-codex
users:
  - { name: dev, apiKey: ${USER_KEY}, providerName: chatgpt, providerKeyName: team }
`,
    );
    const refreshesBefore = oauth.refreshes['openai-codex'];

    const run = await runPiapi(['code', '--config', config, '--claude', claudeBin, '--', '-p', 'say hi'], {
      nodeArgs: await hostRoutingNodeArgs(home, oauth.url),
      cwd: join(home, 'project'),
      env: {
        HOME: home,
        CLAUDE_CONFIG_DIR: join(home, '.claude'),
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_ERROR_REPORTING: '1',
        NO_PROXY: '127.0.0.1,localhost',
        TERM: 'dumb',
        SHELL: '/bin/bash',
      },
      timeoutMs: 150_000,
    });

    expect(run.stdout.trim(), explain(run)).toBe('Hello from your subscription.');
    expect(run.code, explain(run)).toBe(0);
    expect(oauth.refreshes['openai-codex'] - refreshesBefore).toBe(1);
    const saved = JSON.parse(await readFile(credentialsFile, 'utf8')) as OAuthCredentials;
    const upstream = fake.requests.at(-1)!;
    expect(upstream.path).toBe('/codex/responses');
    expect(upstream.headers.authorization).toBe(`Bearer ${saved.access}`);
    expect(upstream.headers['chatgpt-account-id']).toBe(FAKE_ACCOUNT_ID);
    expect(upstream.json<{ model: string }>().model).toBe('gpt-5.1-codex');
  });
});
