import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { runPiapi } from './cli-process.js';
import { writeFakeTool, type FakeToolReport } from './fake-tool.js';
import { freePort } from '../support/free-port.js';

const USER_KEY = 'piapi-user-tools-0123456789';
const PROVIDER_KEY = 'sk-upstream-provider-key-42';

// Each test runs real processes; on a loaded machine they start slowly.
vi.setConfig({ testTimeout: 90_000 });

let upstream: RecordingUpstream;
let home: string;

beforeAll(async () => {
  upstream = await startRecordingUpstream();
});
afterAll(() => upstream.close());
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'piapi-tools-'));
});
afterEach(() => rm(home, { recursive: true, force: true }));

function configYaml(listen: string, user = `apiKey: ${USER_KEY}`): string {
  return `listen: "${listen}"
providers:
  - name: team
    apiKeys: { main: ${PROVIDER_KEY} }
    services:
      - { type: cc, baseUrl: "${upstream.url}/anthropic", auth: { mode: header, name: x-api-key } }
      - { type: cx, baseUrl: "${upstream.url}/openai/v1" }
users:
  - { name: dev, ${user}, providerName: team, providerKeyName: main }
`;
}


async function writeConfig(yaml: string): Promise<string> {
  const path = join(home, 'config.yaml');
  await writeFile(path, yaml);
  return path;
}

async function answersHealth(url: string): Promise<boolean> {
  return fetch(`${url}/healthz`).then(
    (res) => res.ok,
    () => false,
  );
}

describe('piapi code', () => {
  it('starts a gateway for the session, runs claude through it with the user key, and returns claude\'s exit code', async () => {
    const port = await freePort();
    const config = await writeConfig(configYaml(`127.0.0.1:${port}`));
    const claude = await writeFakeTool(home, 'claude');

    const run = await runPiapi(['code', '--config', config, '--claude', claude.path, '--', '-p', 'say hi', '--model', 'opus'], {
      env: { HOME: home, FAKE_TOOL_EXIT: '7' },
    });

    expect(run.code, run.stderr).toBe(7);
    expect(run.stderr).toContain(`piapi: started a gateway on http://127.0.0.1:${port} for this session`);
    const report: FakeToolReport = await claude.report();
    expect(report.argv).toEqual(['-p', 'say hi', '--model', 'opus']);
    expect(report.env).toMatchObject({ ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}`, ANTHROPIC_API_KEY: USER_KEY });
    // The request went through the gateway to the provider with the provider's key.
    expect(report.request).toMatchObject({ status: 200 });
    expect(upstream.requests.at(-1)).toMatchObject({ url: '/anthropic/v1/messages' });
    expect(upstream.requests.at(-1)!.headers['x-api-key']).toBe(PROVIDER_KEY);
    // The session's gateway is gone with it, and it logged to a file, not over claude's output.
    expect(await answersHealth(`http://127.0.0.1:${port}`)).toBe(false);
    expect(run.stdout).toBe('');
    expect(await readFile(join(home, '.piapi', 'logs', 'gateway.log'), 'utf8')).toContain('"path":"/piapi/cc/v1/messages"');
  });

  it('passes claude options given without "--" through as well', async () => {
    const port = await freePort();
    const config = await writeConfig(configYaml(`127.0.0.1:${port}`));
    const claude = await writeFakeTool(home, 'claude');

    const run = await runPiapi(['code', '--config', config, '--claude', claude.path, '-c', '-p', 'continue'], { env: { HOME: home } });

    expect(run.code, run.stderr).toBe(0);
    expect((await claude.report()).argv).toEqual(['-c', '-p', 'continue']);
  });

  it('uses a gateway already answering at the config\'s listen address instead of starting one', async () => {
    const running: TestGateway = await startTestGateway(configYaml('127.0.0.1:0'));
    try {
      const config = await writeConfig(configYaml(new URL(running.url).host));
      const claude = await writeFakeTool(home, 'claude');

      const run = await runPiapi(['code', '--config', config, '--claude', claude.path], { env: { HOME: home } });

      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).not.toContain('started a gateway');
      expect((await claude.report()).env.ANTHROPIC_BASE_URL).toBe(running.url);
      expect(await answersHealth(running.url)).toBe(true);
    } finally {
      await running.stop();
    }
  });

  it('targets a remote gateway with --url and --key, leaving ANTHROPIC_AUTH_TOKEN out', async () => {
    const remote: TestGateway = await startTestGateway(configYaml('127.0.0.1:0'));
    try {
      const claude = await writeFakeTool(home, 'claude');

      const run = await runPiapi(['code', '--url', `${remote.url}/`, '--key', USER_KEY, '--claude', claude.path], {
        env: { HOME: home, ANTHROPIC_AUTH_TOKEN: 'a-token-that-would-clash' },
      });

      expect(run.code, run.stderr).toBe(0);
      const report = await claude.report();
      expect(report.env).toMatchObject({ ANTHROPIC_BASE_URL: remote.url, ANTHROPIC_API_KEY: USER_KEY });
      expect(report.env.ANTHROPIC_AUTH_TOKEN).toBeUndefined();
      expect(report.request?.status).toBe(200);
    } finally {
      await remote.stop();
    }
  });

  it('takes the key from PIAPI_API_KEY and the program from PIAPI_CLAUDE_BIN', async () => {
    const port = await freePort();
    const config = await writeConfig(configYaml(`127.0.0.1:${port}`, `apiKeyHash: "sha256:${'0'.repeat(64)}"`));
    const claude = await writeFakeTool(home, 'claude');

    const run = await runPiapi(['code', '--config', config], {
      env: { HOME: home, PIAPI_API_KEY: 'piapi-from-the-environment', PIAPI_CLAUDE_BIN: claude.path },
    });

    expect(run.code, run.stderr).toBe(0);
    expect((await claude.report()).env.ANTHROPIC_API_KEY).toBe('piapi-from-the-environment');
  });

  it('fails with one line when no user key can be found', async () => {
    const config = await writeConfig(configYaml(`127.0.0.1:${await freePort()}`, `apiKeyHash: "sha256:${'0'.repeat(64)}"`));
    const claude = await writeFakeTool(home, 'claude');

    const run = await runPiapi(['code', '--config', config, '--claude', claude.path], { env: { HOME: home } });

    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(
      'piapi: no piapi user key: pass --key, set PIAPI_API_KEY, or give the config a single user with an apiKey',
    );
  });

  it('fails with one line when claude is not there, and stops the gateway it started', async () => {
    const port = await freePort();
    const config = await writeConfig(configYaml(`127.0.0.1:${port}`));

    const run = await runPiapi(['code', '--config', config, '--claude', join(home, 'no-such-claude')], { env: { HOME: home } });

    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(
      `piapi: cannot run ${join(home, 'no-such-claude')} (ENOENT): install Claude Code (npm install -g @anthropic-ai/claude-code) or pass --claude <path>`,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(await answersHealth(`http://127.0.0.1:${port}`)).toBe(false);
  });

  it('fails with one line when there is no config', async () => {
    const run = await runPiapi(['code', '--claude', '/bin/true'], { env: { HOME: home }, cwd: home });

    expect(run.code).toBe(1);
    expect(run.stderr).toBe('piapi: no config at config.yaml: run "piapi ui" to create one, or pass --config\n');
  });
});

describe('piapi codex', () => {
  it('runs codex with a piapi model provider on the cx pass-through, the key in PIAPI_API_KEY', async () => {
    const port = await freePort();
    const config = await writeConfig(configYaml(`127.0.0.1:${port}`));
    const codex = await writeFakeTool(home, 'codex');

    const run = await runPiapi(['codex', '--config', config, '--codex', codex.path, '--', 'exec', 'say hi'], {
      env: { HOME: home, FAKE_TOOL_EXIT: '3' },
    });

    expect(run.code, run.stderr).toBe(3);
    const report = await codex.report();
    expect(report.argv).toEqual([
      '-c',
      'model_provider="piapi"',
      '-c',
      `model_providers.piapi={name="piapi",base_url="http://127.0.0.1:${port}/piapi/cx",wire_api="responses",env_key="PIAPI_API_KEY"}`,
      'exec',
      'say hi',
    ]);
    expect(report.env.PIAPI_API_KEY).toBe(USER_KEY);
    expect(report.request?.status).toBe(200);
    const forwarded = upstream.requests.at(-1)!;
    expect(forwarded.url).toBe('/openai/v1/responses');
    expect(forwarded.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
  });

  const llmOnlyYaml = (listen: string) => `listen: "${listen}"
providers:
  - name: claude
    apiKeys: { main: ${PROVIDER_KEY} }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: "${upstream.url}/anthropic", defaultModel: claude-test }
users:
  - { name: dev, apiKey: ${USER_KEY}, providerName: claude, providerKeyName: main }
`;
  const providerArg = (report: FakeToolReport) => report.argv.find((a) => a.startsWith('model_providers.piapi='));

  it('points codex at the translated /v1 when the provider has only an llm block', async () => {
    const port = await freePort();
    const config = await writeConfig(llmOnlyYaml(`127.0.0.1:${port}`));
    const codex = await writeFakeTool(home, 'codex');
    const run = await runPiapi(['codex', '--config', config, '--codex', codex.path, '--', 'exec', 'say hi'], { env: { HOME: home } });
    expect(run.code, run.stderr).toBe(0);
    const report = await codex.report();
    expect(providerArg(report)).toContain(`base_url="http://127.0.0.1:${port}/v1"`);
    // The fake posts a body without input: the Responses translation itself answers.
    expect(report.request?.url).toBe(`http://127.0.0.1:${port}/v1/responses`);
    expect(report.request?.status).toBe(400);
    expect(JSON.parse(report.request!.body).error.message).toBe('input: field required');
  });

  it('lets --pass-through and --translate force either route', async () => {
    const port = await freePort();
    const llmOnly = await writeConfig(llmOnlyYaml(`127.0.0.1:${port}`));
    const codex = await writeFakeTool(home, 'codex');
    await runPiapi(['codex', '--config', llmOnly, '--codex', codex.path, '--pass-through', '--', 'exec', 'x'], { env: { HOME: home } });
    expect(providerArg(await codex.report())).toContain(`base_url="http://127.0.0.1:${port}/piapi/cx"`);
    const withCx = await writeConfig(configYaml(`127.0.0.1:${port}`));
    await runPiapi(['codex', '--config', withCx, '--codex', codex.path, '--translate', '--', 'exec', 'x'], { env: { HOME: home } });
    expect(providerArg(await codex.report())).toContain(`base_url="http://127.0.0.1:${port}/v1"`);
  });
});
