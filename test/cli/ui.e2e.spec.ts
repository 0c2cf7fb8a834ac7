import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/config/config-loader.js';
import '../../src/messages/models/model-map.config.js';
import { writeCredentialsFile } from '../../src/providers/credentials-file.js';
import { fakeCodexJwt } from '../fakes/fake-jwt.js';
import { FAKE_ACCOUNT_ID, startFakeOAuthServer } from '../oauth/fake-oauth-server.js';
import { hostRoutingNodeArgs } from '../oauth/host-routing.js';
import { KEY, spawnPiapiInPty, type PtySession } from './pty-session.js';

// `piapi ui` driven key by key through a pseudo-terminal, as a person would.

// Each test runs real processes; on a loaded machine they start slowly.
vi.setConfig({ testTimeout: 90_000 });

let home: string;
let session: PtySession | undefined;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'piapi-ui-'));
});
afterEach(async () => {
  session?.kill();
  session = undefined;
  await rm(home, { recursive: true, force: true });
});

async function answer(prompt: string, keys: string): Promise<void> {
  await session!.expect(prompt);
  session!.send(keys);
}

describe('piapi ui', () => {
  it('writes a valid config for an OpenAI API key with a model map, listen address and a new user key', async () => {
    const config = join(home, 'piapi.yaml');
    session = spawnPiapiInPty(['ui', '--config', config], { HOME: home });

    await answer('Which account should piapi use upstream?', `${KEY.down}${KEY.down}${KEY.down}${KEY.enter}`);
    await answer('OpenAI API key (or ${ENV_VAR}', `sk-test-openai-key-0001${KEY.enter}`);
    await answer('Default model', KEY.enter);
    await answer('Map a model name clients send', 'y');
    await answer('Model name the client sends', `claude-haiku-4-5${KEY.enter}`);
    await answer('Serve claude-haiku-4-5 with', `${KEY.clear}gpt-5.1-codex-mini${KEY.enter}`);
    await answer('Map a model name clients send', 'n');
    await answer('Listen address', `${KEY.clear}127.0.0.1:9333${KEY.enter}`);
    await answer('Your user name', `${KEY.clear}alice${KEY.enter}`);
    await answer('Your piapi user key', KEY.enter);
    await session.expect(`Config written to ${config}`);

    expect(await session.exited).toBe(0);
    const userKey = /Your piapi key: (piapi-[A-Za-z0-9_-]{43})/.exec(session.screen())?.[1];
    expect(userKey).toBeDefined();
    expect((await stat(config)).mode & 0o777).toBe(0o600);
    const text = await readFile(config, 'utf8');
    const loaded = parseConfig(text);
    expect(loaded.ok ? [] : loaded.errors).toEqual([]);
    if (!loaded.ok) return;
    const { providers, users, models, listen } = loaded.config;
    expect(listen).toBe('127.0.0.1:9333');
    const openai = providers.get('openai')!;
    expect(openai.apiKeys.get('main')).toEqual({ kind: 'static', name: 'main', value: 'sk-test-openai-key-0001' });
    expect(openai.services.get('cx')?.baseUrl).toBe('https://api.openai.com/v1');
    expect(openai.llm).toMatchObject({ provider: 'openai', defaultModel: 'gpt-5.1-codex' });
    expect(models).toEqual({ default: 'gpt-5.1-codex', 'claude-haiku-4-5': 'gpt-5.1-codex-mini' });
    expect(users.map((u) => u.name)).toEqual(['alice']);
    expect(loaded.config.usersByKeyDigest.size).toBe(1);
    expect(text).toContain(`apiKey: ${userKey}`);
  });

  it('uses a saved login for a ChatGPT subscription and a key the user types', async () => {
    const credentials = join(home, 'chatgpt.json');
    await writeCredentialsFile(credentials, { access: fakeCodexJwt(), refresh: 'fake-refresh', expires: Date.now() + 3_600_000 });
    const config = join(home, 'config.yaml');
    session = spawnPiapiInPty(['ui', '--config', config], { HOME: home });

    await answer('Which account should piapi use upstream?', KEY.enter);
    await answer('Credentials', `${KEY.down}${KEY.enter}`);
    await answer('Credentials file', `${KEY.clear}${credentials}${KEY.enter}`);
    await answer('Default model', KEY.enter);
    await answer('Map a model name clients send', 'n');
    await answer('Listen address', KEY.enter);
    await answer('Your user name', KEY.enter);
    await answer('Your piapi user key', `${KEY.down}${KEY.enter}`);
    await answer('User key (16 or more characters', `piapi-typed-by-hand-0123456789${KEY.enter}`);

    expect(await session.exited, session.screen()).toBe(0);
    const loaded = parseConfig(await readFile(config, 'utf8'));
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const chatgpt = loaded.config.providers.get('chatgpt')!;
    expect(chatgpt.apiKeys.get('openai-codex')).toEqual({ kind: 'oauth', name: 'openai-codex', oauth: 'openai-codex', provider: 'chatgpt', credentialsFile: credentials });
    expect(chatgpt.services.get('cx')?.baseUrl).toBe('https://chatgpt.com/backend-api/codex');
    expect(chatgpt.llm).toMatchObject({ provider: 'openai-codex', defaultModel: 'gpt-5.1-codex-max' });
    expect(loaded.config.models).toEqual({ default: 'gpt-5.1-codex-max' });
    expect(loaded.config.listen).toBe('127.0.0.1:9200');
    expect(loaded.config.usersByKeyDigest.size).toBe(1);
  });

  it('logs in to ChatGPT from its prompts, with the redirect URL pasted, and saves the credentials', async () => {
    const oauth = await startFakeOAuthServer();
    try {
      const config = join(home, 'config.yaml');
      const credentials = join(home, 'creds', 'chatgpt.json');
      // pi-ai's callback server on another loopback address: login.e2e.spec.ts uses 127.0.0.1:1455.
      const env = { HOME: home, PI_OAUTH_CALLBACK_HOST: '127.0.0.2' };
      session = spawnPiapiInPty(['ui', '--config', config], env, await hostRoutingNodeArgs(home, oauth.url));

      await answer('Which account should piapi use upstream?', KEY.enter);
      await answer('Credentials', KEY.enter);
      await answer('Save the credentials to', `${KEY.clear}${credentials}${KEY.enter}`);
      const [url] = await session.match(/https:\/\/auth\.openai\.com\/oauth\/authorize\S+/);
      const authorize = new URL(url);
      oauth.acceptAuthorizationCode('ui-code', authorize.searchParams.get('code_challenge')!);
      await answer('Paste the redirect URL', `http://localhost:1455/auth/callback?code=ui-code&state=${authorize.searchParams.get('state')}${KEY.enter}`);
      await answer('Default model', KEY.enter);
      await answer('Map a model name clients send', 'n');
      await answer('Listen address', KEY.enter);
      await answer('Your user name', KEY.enter);
      await answer('Your piapi user key', KEY.enter);

      expect(await session.exited, session.screen()).toBe(0);
      const saved = JSON.parse(await readFile(credentials, 'utf8')) as { accountId: string };
      expect(saved.accountId).toBe(FAKE_ACCOUNT_ID);
      expect((await stat(credentials)).mode & 0o777).toBe(0o600);
      const loaded = parseConfig(await readFile(config, 'utf8'));
      if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
      expect(loaded.config.providers.get('chatgpt')?.apiKeys.get('openai-codex')).toMatchObject({ kind: 'oauth', credentialsFile: credentials });
    } finally {
      await oauth.close();
    }
  });

  it('leaves an existing config alone when told not to replace it', async () => {
    const config = join(home, 'config.yaml');
    await writeFile(config, 'original: true\n');
    session = spawnPiapiInPty(['ui', '--config', config], { HOME: home });

    await answer('exists. Replace it?', 'n');
    await session.expect('left unchanged');

    expect(await session.exited).toBe(0);
    expect(await readFile(config, 'utf8')).toBe('original: true\n');
  });

  it('writes nothing and exits 1 when cancelled with Ctrl-C', async () => {
    const config = join(home, 'config.yaml');
    session = spawnPiapiInPty(['ui', '--config', config], { HOME: home });

    await answer('Which account should piapi use upstream?', KEY.ctrlC);
    await session.expect('Setup cancelled; nothing written.');

    expect(await session.exited).toBe(1);
    await expect(stat(config)).rejects.toThrow(/ENOENT/);
  });

  it('defaults to ~/.piapi/config.yaml', async () => {
    session = spawnPiapiInPty(['ui'], { HOME: home });

    await answer('Which account should piapi use upstream?', `${KEY.down}${KEY.down}${KEY.down}${KEY.down}${KEY.enter}`);
    await answer('Anthropic API key (or', `sk-ant-test-key${KEY.enter}`);
    await answer('Default model', KEY.enter);
    await answer('Map a model name clients send', 'n');
    await answer('Listen address', KEY.enter);
    await answer('Your user name', KEY.enter);
    await answer('Your piapi user key', KEY.enter);

    expect(await session.exited, session.screen()).toBe(0);
    const loaded = parseConfig(await readFile(join(home, '.piapi', 'config.yaml'), 'utf8'));
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    // Anthropic serves the Claude model names clients send: no default mapping.
    expect(loaded.config.models).toEqual({});
    expect(loaded.config.providers.get('anthropic')?.services.get('cc')?.auth.name).toBe('x-api-key');
  });
});
