import { describe, expect, it } from 'vitest';
import { errorsOf, toYaml, validConfig, type ConfigTree as Config } from '../../test/support/config-fixtures.js';
import { parseConfig } from './config-loader.js';
import type { GatewayConfig } from './gateway-config.js';

function load(change: (config: Config) => void, env: NodeJS.ProcessEnv = {}): { config?: GatewayConfig; errors: string[] } {
  const tree = validConfig();
  change(tree);
  const result = parseConfig(toYaml(tree), env);
  return result.ok ? { config: result.config, errors: [] } : { errors: errorsOf(result) };
}

function limitsOf(config: GatewayConfig | undefined, user: string): unknown {
  return config?.users.find((u) => u.name === user)?.limits;
}

describe('limits', () => {
  it('gives every user the top-level defaults', () => {
    const { config } = load((c) => (c.limits = { requestsPerMinute: 120, concurrentRequests: 8, tokensPerMinute: 400000, tokensPerDay: 20000000 }));
    expect(limitsOf(config, 'Bob')).toEqual({ requestsPerMinute: 120, concurrentRequests: 8, tokensPerMinute: 400000, tokensPerDay: 20000000 });
  });

  it('lets a user override the defaults field by field, 0 refusing everything and null removing a default', () => {
    const { config } = load((c) => {
      c.limits = { requestsPerMinute: 120, tokensPerDay: 20000000 };
      c.users[0].limits = { tokensPerDay: 50000000 };
      c.users[1].limits = { requestsPerMinute: 0, tokensPerDay: null };
    });
    expect(limitsOf(config, 'Alice')).toEqual({ requestsPerMinute: 120, tokensPerDay: 50000000 });
    expect(limitsOf(config, 'Bob')).toEqual({ requestsPerMinute: 0 });
    expect(limitsOf(config, 'Carol')).toEqual({ requestsPerMinute: 120, tokensPerDay: 20000000 });
  });

  it('leaves users without limits when there are none', () => {
    expect(limitsOf(load(() => undefined).config, 'Alice')).toEqual({});
  });

  it('takes a user limit without defaults', () => {
    expect(limitsOf(load((c) => (c.users[2].limits = { concurrentRequests: 2 })).config, 'Carol')).toEqual({ concurrentRequests: 2 });
  });

  it.each<[string, (c: Config) => void, string]>([
    ['a negative limit', (c) => (c.limits = { requestsPerMinute: -1 }), 'limits.requestsPerMinute: must not be less than 0'],
    ['a fraction', (c) => (c.users[1].limits = { tokensPerMinute: 1.5 }), 'users[1].limits.tokensPerMinute: must be an integer'],
    ['a string', (c) => (c.limits = { tokensPerDay: 'lots' }), 'limits.tokensPerDay: must be an integer'],
    ['a misspelt limit', (c) => (c.users[0].limits = { requestPerMinute: 10 }), 'users[0].limits.requestPerMinute: unknown field'],
    ['limits as a list', (c) => (c.limits = [10]), 'limits: must be a mapping'],
  ])('refuses %s, naming its path', (_what, change, expected) => {
    expect(load(change).errors).toEqual([expected]);
  });
});

describe('state.redis', () => {
  it('reads the settings, with their defaults', () => {
    const { config } = load((c) => (c.state = { redis: { url: '${REDIS_URL}' } }), { REDIS_URL: 'rediss://piapi:s3cret@redis.example:6380/2' });
    expect(config?.state.redis).toEqual({ url: 'rediss://piapi:s3cret@redis.example:6380/2', keyPrefix: 'piapi:', commandTimeoutMs: 100, onError: 'allow' });
  });

  it('reads every setting given', () => {
    const { config } = load((c) => (c.state = { redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'team-a:', commandTimeoutMs: 250, onError: 'deny' } }));
    expect(config?.state.redis).toEqual({ url: 'redis://127.0.0.1:6379', keyPrefix: 'team-a:', commandTimeoutMs: 250, onError: 'deny' });
  });

  it('keeps state in memory without it', () => {
    expect(load(() => undefined).config?.state).toEqual({});
  });

  it('refuses a URL that is not redis:// or rediss:// without quoting it (it may hold a password)', () => {
    const { errors } = load((c) => (c.state = { redis: { url: 'http://user:hunter2-password@redis:6379' } }));
    expect(errors).toEqual(['state.redis.url: must be a redis:// or rediss:// URL with a host (redis://[user:password@]host[:port][/db])']);
    expect(errors.join('\n')).not.toContain('hunter2');
  });

  it.each<[string, (c: Config) => void, string]>([
    ['a missing url', (c) => (c.state = { redis: {} }), 'state.redis.url: is required'],
    ['an unknown onError', (c) => (c.state = { redis: { url: 'redis://r', onError: 'ignore' } }), 'state.redis.onError: must be "allow" or "deny"'],
    ['a zero timeout', (c) => (c.state = { redis: { url: 'redis://r', commandTimeoutMs: 0 } }), 'state.redis.commandTimeoutMs: must not be less than 1'],
    ['a prefix with a space', (c) => (c.state = { redis: { url: 'redis://r', keyPrefix: 'my prefix' } }), 'state.redis.keyPrefix: must be at most 64 printable characters without spaces'],
    ['an unknown field', (c) => (c.state = { redis: { url: 'redis://r', password: 'x' } }), 'state.redis.password: unknown field'],
  ])('refuses %s, naming its path', (_what, change, expected) => {
    expect(load(change).errors).toEqual([expected]);
  });

  it('names the variable when REDIS_URL is not set', () => {
    expect(load((c) => (c.state = { redis: { url: '${REDIS_URL}' } })).errors).toEqual([
      'state.redis.url: environment variable REDIS_URL is not set (use ${REDIS_URL:-default} for a default)',
    ]);
  });
});

describe('OAuth keys and state.redis', () => {
  it('may leave out the credentials file when the credentials live in Redis', () => {
    const { config } = load((c) => {
      c.state = { redis: { url: 'redis://127.0.0.1:6379' } };
      c.providers[0].apiKeys['main-key'] = { oauth: 'openai-codex' };
    });
    expect(config?.providers.get('provider-alpha')?.apiKeys.get('main-key')).toEqual({
      kind: 'oauth',
      name: 'main-key',
      provider: 'provider-alpha',
      oauth: 'openai-codex',
      credentialsFile: undefined,
    });
  });

  it('needs the credentials file without state.redis', () => {
    expect(load((c) => (c.providers[0].apiKeys['main-key'] = { oauth: 'openai-codex' })).errors).toEqual([
      'providers[0].apiKeys.main-key.credentialsFile: is required without state.redis (where the credentials would live)',
    ]);
  });
});
