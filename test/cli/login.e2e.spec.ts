import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OAuthCredentials } from '@mariozechner/pi-ai/oauth';
import { parseConfig } from '../../src/config/config-loader.js';
import { FAKE_ACCOUNT_ID, startFakeOAuthServer, type FakeOAuthServer } from '../oauth/fake-oauth-server.js';
import { hostRoutingNodeArgs } from '../oauth/host-routing.js';
import { killGateway, spawnGateway } from '../support/gateway-process.js';
import { startRecordingUpstream } from '../support/recording-upstream.js';
import { TestRedis } from '../support/redis-server.js';
import { spawnPiapi, type CliOptions } from './cli-process.js';

// pi-ai's login flows, run by `piapi login` as a real process whose requests to the OAuth hosts
// go to a fake on 127.0.0.1. The test plays the browser (or the person pasting its URL).

// Each test runs real processes; on a loaded machine they start slowly.
vi.setConfig({ testTimeout: 90_000 });

let oauth: FakeOAuthServer;
let home: string;
let routing: string[];

beforeAll(async () => {
  oauth = await startFakeOAuthServer();
});
afterAll(() => oauth.close());
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'piapi-login-'));
  routing = await hostRoutingNodeArgs(home, oauth.url);
});
afterEach(() => rm(home, { recursive: true, force: true }));

const EXISTING_CONFIG = `# my gateway
listen: "127.0.0.1:9200"
providers:
  - name: openai
    apiKeys: { main: sk-static-0000 }   # a static key stays
users:
  - { name: dev, apiKey: piapi-user-login-0123456789, providerName: openai, providerKeyName: main }
`;

function login(args: string[], options: CliOptions = {}) {
  return spawnPiapi(['login', ...args], { nodeArgs: routing, env: { HOME: home }, timeoutMs: 60_000, ...options });
}

/** The authorize URL piapi printed, and the PKCE challenge and state in it. */
async function authorizeUrl(run: ReturnType<typeof login>, host: string): Promise<URL> {
  const [url] = await run.waitFor(new RegExp(`https://${host.replaceAll('.', '\\.')}/\\S+`));
  return new URL(url);
}

async function savedCredentials(path: string): Promise<OAuthCredentials> {
  return JSON.parse(await readFile(path, 'utf8')) as OAuthCredentials;
}

describe('piapi login openai-codex', () => {
  it('completes when the browser returns to the local callback, saves 0600 credentials and adds the key to the config', async () => {
    const out = join(home, 'creds', 'chatgpt-team.json');
    const config = join(home, 'config.yaml');
    await writeFile(config, EXISTING_CONFIG);
    const run = login(['openai-codex', '--out', out, '--config', config, '--key-name', 'chatgpt-team', '--yes']);

    const url = await authorizeUrl(run, 'auth.openai.com');
    expect(url.searchParams.get('redirect_uri')).toBe('http://localhost:1455/auth/callback');
    oauth.acceptAuthorizationCode('browser-code', url.searchParams.get('code_challenge')!);
    const callback = await fetch(`http://127.0.0.1:1455/auth/callback?code=browser-code&state=${url.searchParams.get('state')}`);
    expect(callback.status).toBe(200);
    const result = await run.exited;

    expect(result.code, result.stderr).toBe(0);
    const saved = await savedCredentials(out);
    expect(saved).toMatchObject({ accountId: FAKE_ACCOUNT_ID });
    expect(saved.refresh).toMatch(/^fake-refresh-openai-codex-/);
    expect((await stat(out)).mode & 0o777).toBe(0o600);

    const text = await readFile(config, 'utf8');
    expect(text).toContain('# my gateway');
    expect(text).toContain('# a static key stays');
    const parsed = parseConfig(text);
    expect(parsed.ok).toBe(true);
    const chatgpt = parsed.ok ? parsed.config.providers.get('chatgpt') : undefined;
    expect(chatgpt?.apiKeys.get('chatgpt-team')).toEqual({ kind: 'oauth', name: 'chatgpt-team', oauth: 'openai-codex', provider: 'chatgpt', credentialsFile: out });
    expect(chatgpt?.services.get('cx')?.baseUrl).toBe('https://chatgpt.com/backend-api/codex');
    expect(result.stderr).toContain(`Updated ${config}: added provider "chatgpt" with key "chatgpt-team"`);
  });

  it('edits a config whose variables are set only in the gateway\'s environment', async () => {
    const config = join(home, 'config.yaml');
    await writeFile(config, EXISTING_CONFIG.replace('sk-static-0000', '"${TEAM_OPENAI_KEY}"'));
    const run = login(['openai-codex', '--out', join(home, 'c.json'), '--config', config, '--yes'], { stdin: 'pipe' });

    const url = await authorizeUrl(run, 'auth.openai.com');
    oauth.acceptAuthorizationCode('env-code', url.searchParams.get('code_challenge')!);
    run.write(`http://localhost:1455/auth/callback?code=env-code&state=${url.searchParams.get('state')}\n`);
    const result = await run.exited;

    expect(result.code, result.stderr).toBe(0);
    const text = await readFile(config, 'utf8');
    expect(text).toContain('${TEAM_OPENAI_KEY}');
    expect(text).toContain('openai-codex: { oauth: openai-codex, credentialsFile:');
  });

  it('takes the redirect URL pasted on a headless machine', async () => {
    const out = join(home, 'codex.json');
    const run = login(['openai-codex', '--out', out, '--no-config'], { stdin: 'pipe' });

    const url = await authorizeUrl(run, 'auth.openai.com');
    await run.waitFor(/paste it here and press Enter/);
    oauth.acceptAuthorizationCode('pasted-code', url.searchParams.get('code_challenge')!);
    run.write(`http://localhost:1455/auth/callback?code=pasted-code&state=${url.searchParams.get('state')}\n`);
    const result = await run.exited;

    expect(result.code, result.stderr).toBe(0);
    expect((await savedCredentials(out)).accountId).toBe(FAKE_ACCOUNT_ID);
    expect(result.stderr).toContain(`Credentials saved to ${out} (mode 0600)`);
  });

  it('reports a refused token exchange in one line and saves nothing', async () => {
    const out = join(home, 'codex.json');
    const run = login(['openai-codex', '--out', out, '--no-config'], { stdin: 'pipe' });

    const url = await authorizeUrl(run, 'auth.openai.com');
    // A code the server never issued.
    run.write(`http://localhost:1455/auth/callback?code=forged&state=${url.searchParams.get('state')}\n`);
    const result = await run.exited;

    expect(result.code).toBe(1);
    const last = result.stderr.trim().split('\n').at(-1);
    expect(last).toMatch(/^piapi: login failed: OpenAI Codex token exchange failed \(400\): .*unknown code/);
    await expect(stat(out)).rejects.toThrow(/ENOENT/);
  });

  it('gives up after --timeout without a login', async () => {
    const result = await login(['openai-codex', '--out', join(home, 'c.json'), '--timeout', '1']).exited;

    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toBe('piapi: login timed out after 1 s');
  });

  it('leaves the config alone without --yes when nobody can be asked, and says what it would change', async () => {
    const out = join(home, 'codex.json');
    const config = join(home, 'config.yaml');
    await writeFile(config, EXISTING_CONFIG);
    const run = login(['openai-codex', '--out', out, '--config', config, '--provider-name', 'openai'], { stdin: 'pipe' });

    const url = await authorizeUrl(run, 'auth.openai.com');
    oauth.acceptAuthorizationCode('code-3', url.searchParams.get('code_challenge')!);
    run.write(`http://localhost:1455/auth/callback?code=code-3&state=${url.searchParams.get('state')}\n`);
    const result = await run.exited;

    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(config, 'utf8')).toBe(EXISTING_CONFIG);
    expect(result.stderr).toContain(`Not changing ${config} without --yes. It would have added key "openai-codex" of provider "openai".`);
  });
});

describe('piapi login anthropic', () => {
  it('takes the code#state Anthropic shows after login, pasted on stdin', async () => {
    const out = join(home, 'claude.json');
    const run = login(['anthropic', '--out', out, '--no-config'], { stdin: 'pipe' });

    const url = await authorizeUrl(run, 'claude.ai');
    oauth.acceptAuthorizationCode('anthropic-code', url.searchParams.get('code_challenge')!);
    run.write(`anthropic-code#${url.searchParams.get('state')}\n`);
    const result = await run.exited;

    expect(result.code, result.stderr).toBe(0);
    const saved = await savedCredentials(out);
    expect(saved.access).toMatch(/^sk-ant-oat01-fake-access-/);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
  });
});

describe('piapi login github-copilot', () => {
  it('runs the device-code flow: prints the code, polls until authorized, saves the Copilot token', async () => {
    const out = join(home, 'copilot.json');
    const run = login(['github-copilot', '--out', out, '--no-config']);

    await run.waitFor(/https:\/\/github\.com\/login\/device/);
    await run.waitFor(/Enter code: FAKE-1234/);
    const result = await run.exited;

    expect(result.code, result.stderr).toBe(0);
    const saved = await savedCredentials(out);
    expect(saved.access).toMatch(/^tid=fake/);
    expect(saved.refresh).toMatch(/^gho-fake-github-token-/);
  });
});

describe('piapi login --redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await TestRedis.start();
  });
  afterAll(() => redis.stop());

  const redisConfig = () => `state:
  redis: { url: ${redis.url}, keyPrefix: "team:" }
providers:
  - name: openai
    apiKeys: { main: sk-static-0000 }
users:
  - { name: dev, apiKey: piapi-user-login-redis-0000, providerName: openai, providerKeyName: main }
`;
  const codexUser = '  - { name: codex, apiKey: piapi-user-login-redis-0001, providerName: chatgpt, providerKeyName: acct-1 }\n';

  it("stores the login under the config's prefix, writes no file, adds a key without credentialsFile, and a gateway serves with it", async () => {
    const config = join(home, 'config.yaml');
    await writeFile(config, redisConfig());
    const run = login(['openai-codex', '--redis', '--config', config, '--key-name', 'acct-1', '--yes'], { stdin: 'pipe' });

    const url = await authorizeUrl(run, 'auth.openai.com');
    oauth.acceptAuthorizationCode('redis-code', url.searchParams.get('code_challenge')!);
    run.write(`http://localhost:1455/auth/callback?code=redis-code&state=${url.searchParams.get('state')}\n`);
    const result = await run.exited;

    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`Credentials saved in Redis at ${redis.url}, key team:oauth:chatgpt:acct-1.`);
    const plain = redis.client();
    const stored = JSON.parse((await plain.get('team:oauth:chatgpt:acct-1')) ?? 'null') as OAuthCredentials;
    plain.disconnect();
    expect(stored.accountId).toBe(FAKE_ACCOUNT_ID);
    expect(stored.refresh).toMatch(/^fake-refresh-openai-codex-/);
    await expect(stat(join(home, '.piapi', 'credentials', 'openai-codex.json'))).rejects.toThrow(/ENOENT/);

    const text = await readFile(config, 'utf8');
    expect(text).toContain('acct-1: { oauth: openai-codex }');
    const parsed = parseConfig(text);
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    expect(parsed.config.providers.get('chatgpt')?.apiKeys.get('acct-1')).toEqual({ kind: 'oauth', name: 'acct-1', oauth: 'openai-codex', provider: 'chatgpt' });

    // A gateway on that config and Redis uses the login (its cx service pointed at a fake).
    const upstream = await startRecordingUpstream();
    const gatewayConfig = join(home, 'gateway.yaml');
    await writeFile(
      gatewayConfig,
      // `users` is the config's last list.
      text.replace('https://chatgpt.com/backend-api/codex', `${upstream.url}/backend-api/codex`) + codexUser,
    );
    const gateway = await spawnGateway(gatewayConfig, {}, process.execPath, routing);
    try {
      const res = await fetch(`${gateway.url}/piapi/cx/responses`, {
        method: 'POST',
        headers: { authorization: 'Bearer piapi-user-login-redis-0001', 'content-type': 'application/json' },
        body: '{"model":"gpt-5.1-codex","input":"hi"}',
      });
      expect(res.status, await res.text()).toBe(200);
      expect(upstream.requests.at(-1)?.headers.authorization).toBe(`Bearer ${stored.access}`);
    } finally {
      await killGateway(gateway);
      await upstream.close();
    }
  });

  it('takes the URL and prefix on the command line, and fails before the browser when Redis cannot be reached, without printing its password', async () => {
    const out = join(home, 'seed.json');
    const run = login(['openai-codex', '--redis', redis.url, '--redis-key-prefix', 'x:', '--provider-name', 'chatgpt', '--out', out, '--no-config'], { stdin: 'pipe' });
    const url = await authorizeUrl(run, 'auth.openai.com');
    oauth.acceptAuthorizationCode('redis-code-2', url.searchParams.get('code_challenge')!);
    run.write(`http://localhost:1455/auth/callback?code=redis-code-2&state=${url.searchParams.get('state')}\n`);
    const result = await run.exited;
    expect(result.code, result.stderr).toBe(0);
    const plain = redis.client();
    const stored = JSON.parse((await plain.get('x:oauth:chatgpt:openai-codex')) ?? 'null') as OAuthCredentials;
    plain.disconnect();
    // --out also writes the file (a seed for gateways without the key in Redis yet).
    expect((await savedCredentials(out)).refresh).toBe(stored.refresh);

    const closed = await login(['openai-codex', '--redis', 'redis://:hunter2-secret@127.0.0.1:1', '--no-config']).exited;
    expect(closed.code).toBe(1);
    expect(closed.stderr).toMatch(/^piapi: Redis at redis:\/\/\*\*\*@127\.0\.0\.1:1 did not take the credentials: .*ECONNREFUSED/m);
    expect(closed.stderr).not.toContain('hunter2');
    expect(closed.stderr).not.toContain('auth.openai.com');

    const noUrl = await login(['openai-codex', '--redis', '--config', join(home, 'missing.yaml')]).exited;
    expect(noUrl.code).toBe(1);
    expect(noUrl.stderr).toContain('--redis needs a URL (--redis redis://host:6379)');
  });
});

describe('piapi login errors', () => {
  it('refuses an unknown provider in one line', async () => {
    const result = await login(['google']).exited;

    expect(result.code).toBe(1);
    expect(result.stderr).toBe('piapi: unknown OAuth provider "google" (supported: openai-codex, anthropic, github-copilot)\n');
  });
});
