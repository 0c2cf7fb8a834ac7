import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeCredentialsFile } from '../../src/providers/credentials-file.js';
import { runPiapi, type CliRun } from '../cli/cli-process.js';
import { fakeCodexJwt } from '../fakes/fake-jwt.js';
import { startOpenAIResponsesFake } from '../fakes/openai-responses.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { codexJs } from './clients.js';
import { freePort } from '../support/free-port.js';

// `piapi codex` running the real Codex CLI through the gateway's cx pass-through to a fake
// Responses upstream: piapi starts the gateway in-process, Codex finds it through `-c` overrides.

const USER_KEY = 'piapi-user-codex-0123456789';
// Keeps Codex from calling anything but the model provider (see test/clients/clients.ts).
const QUIET = ['-c', 'analytics.enabled=false', '-c', 'features.plugins=false'];
const EXEC = ['exec', '--skip-git-repo-check', '--ephemeral', '--color', 'never', '-m', 'gpt-5.1-codex-mini'];

let home: string;
let fake: ProviderFake;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'piapi-codex-cli-'));
  await mkdir(join(home, '.codex'));
  await mkdir(join(home, 'project'));
});
afterEach(async () => {
  await fake?.close();
  await rm(home, { recursive: true, force: true });
});


async function config(apiKey: string): Promise<string> {
  const path = join(home, 'config.yaml');
  await writeFile(
    path,
    `listen: "127.0.0.1:${await freePort()}"
providers:
  - name: team
    apiKeys: { main: ${apiKey} }
    services: [{ type: cx, baseUrl: "${fake.url}/backend-api/codex" }]
users:
  - { name: dev, apiKey: ${USER_KEY}, providerName: team, providerKeyName: main }
`,
  );
  return path;
}

function piapiCodex(configPath: string, prompt: string): Promise<CliRun> {
  return runPiapi(['codex', '--config', configPath, '--codex', codexJs, '--', ...QUIET, ...EXEC, prompt], {
    cwd: join(home, 'project'),
    env: { HOME: home, CODEX_HOME: join(home, '.codex'), NO_PROXY: '127.0.0.1,localhost', TERM: 'dumb' },
    timeoutMs: 120_000,
  });
}

function explain(run: CliRun): string {
  return `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

describe('piapi codex with the real Codex CLI', () => {
  it('answers a prompt through the gateway, with the provider key upstream and the piapi key never leaving the gateway', async () => {
    fake = await startOpenAIResponsesFake({ text: ['Hello ', 'through piapi.'] });
    const run = await piapiCodex(await config('sk-upstream-codex-0001'), 'say hi');

    expect(run.stdout.trim(), explain(run)).toBe('Hello through piapi.');
    expect(run.code, explain(run)).toBe(0);
    expect(run.stderr).toContain('piapi: started a gateway on');
    const [request] = fake.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/backend-api/codex/responses' });
    expect(request.headers.authorization).toBe('Bearer sk-upstream-codex-0001');
    expect(request.headers.originator).toBe('codex_exec');
    expect(request.json()).toMatchObject({ model: 'gpt-5.1-codex-mini', stream: true });
  });

  it('passes Codex through with a ChatGPT login: bearer access token and account id header', async () => {
    fake = await startOpenAIResponsesFake({ text: ['Hello from the subscription.'] });
    const access = fakeCodexJwt({ accountId: 'acct_codex_cli_e2e' });
    const credentialsFile = join(home, 'chatgpt.json');
    await writeCredentialsFile(credentialsFile, { access, refresh: 'fake-refresh-unused', expires: Date.now() + 3_600_000 });
    const run = await piapiCodex(await config(`{ oauth: openai-codex, credentialsFile: "${credentialsFile}" }`), 'say hi');

    expect(run.stdout.trim(), explain(run)).toBe('Hello from the subscription.');
    expect(run.code, explain(run)).toBe(0);
    const [request] = fake.requests;
    expect(request.headers.authorization).toBe(`Bearer ${access}`);
    expect(request.headers['chatgpt-account-id']).toBe('acct_codex_cli_e2e');
  });

  it('returns Codex\'s exit code when the upstream fails', async () => {
    fake = await startOpenAIResponsesFake({ httpError: { status: 400, message: 'fake: this model is not available' } });
    const path = await config('sk-upstream-codex-0001');
    const run = await runPiapi(
      ['codex', '--config', path, '--codex', codexJs, '--', ...QUIET, '-c', 'model_providers.piapi.request_max_retries=0', ...EXEC, 'say hi'],
      { cwd: join(home, 'project'), env: { HOME: home, CODEX_HOME: join(home, '.codex'), NO_PROXY: '127.0.0.1' }, timeoutMs: 120_000 },
    );

    expect(run.code, explain(run)).toBe(1);
    expect(run.stdout + run.stderr).toContain('this model is not available');
  });
});
