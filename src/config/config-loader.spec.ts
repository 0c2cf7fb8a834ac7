import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KEYS, errorsOf, sha256Hex, toYaml, validConfig } from '../../test/support/config-fixtures.js';
import { loadConfigFile, parseConfig } from './config-loader.js';
import type { GatewayConfig } from './gateway-config.js';

function parseValid(config: unknown, env: NodeJS.ProcessEnv = {}): GatewayConfig {
  const result = parseConfig(toYaml(config), env);
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.join('\n')}`);
  return result.config;
}

function errorsFor(config: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  return errorsOf(parseConfig(toYaml(config), env));
}

describe('parseConfig: the seed schema', () => {
  it('reads each provider with its named keys and its services by type', () => {
    const alpha = parseValid(validConfig()).providers.get('provider-alpha')!;
    expect([...alpha.apiKeys.values()]).toEqual([
      { kind: 'static', name: 'main-key', value: KEYS.alphaMain },
      { kind: 'static', name: 'spare-key', value: KEYS.alphaSpare },
    ]);
    expect([...alpha.services.keys()]).toEqual(['cc', 'cx']);
  });

  it('keeps a service auth given in the file', () => {
    const config = parseValid(validConfig());
    expect(config.providers.get('provider-alpha')!.services.get('cc')!.auth).toEqual({ mode: 'header', name: 'x-api-key', prefix: '' });
    expect(config.providers.get('provider-beta')!.services.get('cx')!.auth).toEqual({ mode: 'query', name: 'api_key', prefix: '' });
  });

  it('sends the key as "Authorization: Bearer <key>" to a service without auth', () => {
    const cx = parseValid(validConfig()).providers.get('provider-alpha')!.services.get('cx')!;
    expect(cx.auth).toEqual({ mode: 'header', name: 'authorization', prefix: 'Bearer ' });
  });

  it('uses the prefix given with an auth', () => {
    const config = validConfig();
    config.providers[0].services[0].auth = { mode: 'header', name: 'Authorization', prefix: 'Token ' };
    expect(parseValid(config).providers.get('provider-alpha')!.services.get('cc')!.auth.prefix).toBe('Token ');
  });

  it('splits a baseUrl into origin and base path without the trailing slash', () => {
    const cx = parseValid(validConfig()).providers.get('provider-alpha')!.services.get('cx')!;
    expect(cx).toMatchObject({ baseUrl: 'https://api.openai.com/v1', origin: 'https://api.openai.com', basePath: '/v1' });
  });

  it('links each user to its provider and provider key', () => {
    const config = parseValid(validConfig());
    const bob = config.users.find((u) => u.name === 'Bob')!;
    expect(bob.provider).toBe(config.providers.get('provider-beta'));
    expect(bob.key).toEqual({ kind: 'static', name: 'prod-key', value: KEYS.betaProd });
  });

  it('finds a user by the sha256 of a plain apiKey', () => {
    const config = parseValid(validConfig());
    expect(config.usersByKeyDigest.get(sha256Hex(KEYS.alice))?.name).toBe('Alice');
  });

  it('finds a user by the digest in an apiKeyHash', () => {
    const config = parseValid(validConfig());
    const carol = config.usersByKeyDigest.get(sha256Hex(KEYS.carol))!;
    expect(carol.name).toBe('Carol');
    expect(carol.keyDigest.toString('hex')).toBe(sha256Hex(KEYS.carol));
  });

  it('reads an OAuth provider key', () => {
    const config = validConfig();
    config.providers[0].apiKeys['main-key'] = { oauth: 'anthropic', credentialsFile: '/var/lib/piapi/alice.json' };
    expect(parseValid(config).providers.get('provider-alpha')!.apiKeys.get('main-key')).toEqual({
      kind: 'oauth',
      name: 'main-key',
      provider: 'provider-alpha',
      oauth: 'anthropic',
      credentialsFile: '/var/lib/piapi/alice.json',
    });
  });

  it('reads listen', () => {
    expect(parseValid(validConfig()).listen).toBe('127.0.0.1:9200');
  });

  it('defaults http.maxBodyBytes to at least 32 MiB', () => {
    expect(parseValid(validConfig()).http.maxBodyBytes).toBeGreaterThanOrEqual(32 * 1024 * 1024);
  });

  it('defaults the upstream timeouts', () => {
    expect(parseValid(validConfig()).http).toMatchObject({
      connectTimeoutMs: 10_000,
      headersTimeoutMs: 600_000,
      idleTimeoutMs: 300_000,
    });
  });

  it('reads http.maxBodyBytes, connectTimeoutMs, headersTimeoutMs, idleTimeoutMs and replayBodyBytes from the file', () => {
    const http = { maxBodyBytes: 1_048_576, connectTimeoutMs: 1_000, headersTimeoutMs: 2_000, idleTimeoutMs: 3_000, replayBodyBytes: 4_096 };
    expect(parseValid({ ...validConfig(), http }).http).toEqual(http);
  });

  it('reads an empty YAML value as "not set", so the default applies', () => {
    const result = parseConfig(`${toYaml(validConfig())}\nhttp:\n  maxBodyBytes:\n  idleTimeoutMs: 5000\n`, {});
    expect(result.ok && result.config.http).toMatchObject({ maxBodyBytes: 64 * 1024 * 1024, idleTimeoutMs: 5000 });
  });

  it('gives two different files different hashes', () => {
    const other = validConfig();
    other.listen = ':9300';
    expect(parseValid(validConfig()).hash).not.toBe(parseValid(other).hash);
  });
});

describe('parseConfig: environment variables', () => {
  it('interpolates ${VAR} and ${VAR:-default} in any string value', () => {
    const config = validConfig();
    config.listen = '${LISTEN:-:9200}';
    config.providers[0].apiKeys['main-key'] = '${ALPHA_KEY}';
    config.providers[0].services[0].baseUrl = 'https://${ANTHROPIC_HOST}';
    config.providers[0].services[0].headers = { 'anthropic-version': '${ANTHROPIC_VERSION:-2023-06-01}' };
    config.users[0].apiKey = '${ALICE_KEY}';
    const parsed = parseValid(config, { ALPHA_KEY: 'sk-from-env', ANTHROPIC_HOST: 'proxy.internal', ALICE_KEY: KEYS.alice + 'x' });
    const alpha = parsed.providers.get('provider-alpha')!;
    expect(parsed.listen).toBe(':9200');
    expect(alpha.apiKeys.get('main-key')).toMatchObject({ value: 'sk-from-env' });
    expect(alpha.services.get('cc')).toMatchObject({ baseUrl: 'https://proxy.internal', headers: { 'anthropic-version': '2023-06-01' } });
    expect(parsed.usersByKeyDigest.get(sha256Hex(KEYS.alice + 'x'))?.name).toBe('Alice');
  });

  it('reports an unset variable without a default by name and path, and nothing else about that value', () => {
    const config = validConfig();
    config.providers[0].services[1].baseUrl = '${OPENAI_BASE_URL}';
    expect(errorsFor(config)).toEqual([
      'providers[0].services[1].baseUrl: environment variable OPENAI_BASE_URL is not set (use ${OPENAI_BASE_URL:-default} for a default)',
    ]);
  });

  it('reports every unset variable', () => {
    const config = validConfig();
    config.providers[0].apiKeys['main-key'] = '${ALPHA_KEY}';
    config.providers[1].apiKeys['prod-key'] = '${BETA_KEY}';
    expect(errorsFor(config)).toEqual([
      'providers[0].apiKeys.main-key: environment variable ALPHA_KEY is not set (use ${ALPHA_KEY:-default} for a default)',
      'providers[1].apiKeys.prod-key: environment variable BETA_KEY is not set (use ${BETA_KEY:-default} for a default)',
    ]);
  });

  it('reads process.env when no environment is given', () => {
    const config = validConfig();
    config.providers[0].apiKeys['main-key'] = '${PIAPI_SPEC_PROCESS_ENV_KEY}';
    process.env.PIAPI_SPEC_PROCESS_ENV_KEY = 'sk-from-process-env';
    try {
      const result = parseConfig(toYaml(config));
      expect(result.ok && result.config.providers.get('provider-alpha')!.apiKeys.get('main-key')).toMatchObject({
        value: 'sk-from-process-env',
      });
    } finally {
      delete process.env.PIAPI_SPEC_PROCESS_ENV_KEY;
    }
  });
});

describe('parseConfig: references and uniqueness', () => {
  it('refuses a user whose provider does not exist', () => {
    const config = validConfig();
    config.users[1].providerName = 'provider-gamma';
    expect(errorsFor(config)).toEqual(['users[1].providerName: "provider-gamma" is not a provider']);
  });

  it("refuses a user whose providerKeyName is not one of its provider's keys", () => {
    const config = validConfig();
    config.users[2].providerKeyName = 'backup';
    expect(errorsFor(config)).toEqual(['users[2].providerKeyName: "backup" is not a key of provider "provider-alpha"']);
  });

  it("refuses a key name that belongs to another provider, not the user's", () => {
    const config = validConfig();
    config.users[0].providerKeyName = 'prod-key';
    expect(errorsFor(config)).toEqual(['users[0].providerKeyName: "prod-key" is not a key of provider "provider-alpha"']);
  });

  it('refuses two users with the same apiKey', () => {
    const config = validConfig();
    config.users[1].apiKey = KEYS.alice;
    expect(errorsFor(config)).toEqual(['users[1].apiKey: duplicate user key']);
  });

  it('refuses an apiKeyHash of a key another user has as apiKey', () => {
    const config = validConfig();
    config.users[2].apiKeyHash = `sha256:${sha256Hex(KEYS.alice)}`;
    expect(errorsFor(config)).toEqual(['users[2].apiKeyHash: duplicate user key']);
  });

  it('refuses two users with the same name', () => {
    const config = validConfig();
    config.users[1].name = 'Alice';
    expect(errorsFor(config)).toEqual(['users[1].name: duplicate user name "Alice"']);
  });

  it('refuses two providers with the same name', () => {
    const config = validConfig();
    config.providers[1].name = 'provider-alpha';
    config.users[1] = { ...config.users[1], providerName: 'provider-alpha', providerKeyName: 'main-key' };
    expect(errorsFor(config)).toEqual(['providers[1].name: duplicate provider name "provider-alpha"']);
  });

  it('refuses two services of the same type in one provider', () => {
    const config = validConfig();
    config.providers[0].services[1].type = 'cc';
    expect(errorsFor(config)).toEqual(['providers[0].services[1].type: duplicate service type "cc"']);
  });

  it('allows the same service type in different providers', () => {
    expect(errorsFor(validConfig())).toEqual([]);
  });

  it('refuses a user with neither apiKey nor apiKeyHash', () => {
    const config = validConfig();
    delete config.users[0].apiKey;
    expect(errorsFor(config)).toEqual(['users[0]: exactly one of apiKey or apiKeyHash is required']);
  });

  it('refuses a user with both apiKey and apiKeyHash', () => {
    const config = validConfig();
    config.users[0].apiKeyHash = `sha256:${sha256Hex('another-key-0123456789')}`;
    expect(errorsFor(config)).toEqual(['users[0]: exactly one of apiKey or apiKeyHash is required']);
  });
});

describe('parseConfig: YAML', () => {
  it('refuses a duplicate key with its line, column and name', () => {
    const text = 'providers: []\nusers: []\nproviders: []\n';
    expect(errorsOf(parseConfig(text, {}))).toEqual(['YAML line 3, column 1: duplicate key providers']);
  });

  it('refuses a duplicate key inside a flow mapping', () => {
    const text = 'providers: []\nusers:\n  - { name: a, name: b }\n';
    expect(errorsOf(parseConfig(text, {}))).toEqual(['YAML line 3, column 16: duplicate key name']);
  });

  it('reports a syntax error with its line and column', () => {
    const text = 'providers:\n  - name: alpha\n    apiKeys: { main: k\nusers: []\n';
    const errors = errorsOf(parseConfig(text, {}));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/^YAML line \d+, column \d+: /);
  });

  it('refuses tabs used as indentation with their line', () => {
    expect(errorsOf(parseConfig('providers:\n\t- name: a\nusers: []\n', {}))).toEqual([
      'YAML line 2, column 1: Tabs are not allowed as indentation',
    ]);
  });

  it('refuses an empty file', () => {
    expect(errorsOf(parseConfig('', {}))).toEqual(['config file is empty']);
  });

  it('refuses a file of blank lines', () => {
    expect(errorsOf(parseConfig('\n  \n\t\n', {}))).toEqual(['config file is empty']);
  });

  it('refuses a file of only comments', () => {
    expect(errorsOf(parseConfig('# nothing here yet\n', {}))).toEqual(['config must be a YAML mapping with providers and users']);
  });

  it('refuses a document that is a list or a scalar', () => {
    expect(errorsOf(parseConfig('- providers\n', {}))).toEqual(['config must be a YAML mapping with providers and users']);
    expect(errorsOf(parseConfig('providers\n', {}))).toEqual(['config must be a YAML mapping with providers and users']);
  });

  it('refuses a file with several YAML documents', () => {
    expect(errorsOf(parseConfig('providers: []\nusers: []\n---\nusers: []\n', {}))).toEqual([
      'YAML line 3, column 1: a config file holds one YAML document; remove the "---" separator',
    ]);
  });

  it('refuses a document whose aliases expand exponentially ("billion laughs")', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    expect(errorsOf(parseConfig(`${levels.join('\n')}\nproviders: []\nusers: []\n`, {}))).toEqual([
      'YAML: Excessive alias count indicates a resource exhaustion attack',
    ]);
  });

  it('accepts a UTF-8 byte order mark', () => {
    expect(parseConfig(`\uFEFF${toYaml(validConfig())}`, {}).ok).toBe(true);
  });
});

describe('parseConfig: reporting', () => {
  it('reports every error of a file at once: YAML values, schema, references and environment', () => {
    const config = validConfig();
    config.top = 1;
    config.providers[0].services[1].auht = { mode: 'header' };
    config.providers[1].services[0].baseUrl = 'beta.example.com';
    config.providers[1].apiKeys['prod-key'] = '${BETA_KEY}';
    config.users[0].providerName = 'provider-gamma';
    config.users[2].providerKeyName = 'backup';
    config.http = { maxBodyBytes: 'a lot' };
    expect(errorsFor(config).sort()).toEqual(
      [
        'top: unknown field',
        'providers[0].services[1].auht: unknown field',
        'providers[1].services[0].baseUrl: "beta.example.com" is not an absolute http(s) URL without query, fragment or credentials',
        'providers[1].apiKeys.prod-key: environment variable BETA_KEY is not set (use ${BETA_KEY:-default} for a default)',
        'users[0].providerName: "provider-gamma" is not a provider',
        'users[2].providerKeyName: "backup" is not a key of provider "provider-alpha"',
        'http.maxBodyBytes: must be an integer',
      ].sort(),
    );
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const result = parseConfig(text, {});
        expect(result.ok || result.errors.length > 0).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws, whatever YAML values stand anywhere in a config', () => {
    const anyValue = fc.anything({ maxDepth: 3, withNullPrototype: true, withBigInt: false });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), anyValue), { minLength: 1, maxLength: 4 }), (replacements) => {
        const config = validConfig();
        for (const [pick, value] of replacements) replaceSomeNode(config, pick, value);
        const result = parseConfig(toYaml(config), {});
        expect(result.ok || result.errors.every((e) => typeof e === 'string' && e.length > 0)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws, whatever is passed as text', () => {
    const notText: unknown[] = [undefined, null, 42, {}, Buffer.from('providers: []')];
    for (const text of notText) {
      expect(parseConfig(text as string, {}).ok).toBe(false);
    }
  });
});

describe('loadConfigFile', () => {
  it('accepts the example config', async () => {
    const result = await loadConfigFile(resolve(import.meta.dirname, '../../config/piapi.example.yaml'), {});
    expect(errorsOf(result)).toEqual([]);
  });

  it('reports a file it cannot read, with its path', async () => {
    expect(errorsOf(await loadConfigFile('/nonexistent/piapi.yaml', {}))).toEqual(['cannot read /nonexistent/piapi.yaml: ENOENT']);
  });
});

/** Replaces the `pick`-th node (in depth-first order, root excluded) of `tree` with `value`. */
function replaceSomeNode(tree: Record<string, unknown>, pick: number, value: unknown): void {
  const slots: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach((child, i) => (slots.push([node, i]), walk(child)));
    else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        slots.push([node as Record<string, unknown>, key]);
        walk(child);
      }
    }
  };
  walk(tree);
  const [parent, key] = slots[pick % slots.length];
  (parent as Record<string | number, unknown>)[key] = value;
}
