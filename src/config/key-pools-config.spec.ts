import { describe, expect, it } from 'vitest';
import { KEYS, errorsOf, toYaml, validConfig, type ConfigTree as Config } from '../../test/support/config-fixtures.js';
import { parseConfig } from './config-loader.js';
import type { GatewayConfig } from './gateway-config.js';

function load(change: (config: Config) => void, env: NodeJS.ProcessEnv = {}): { config?: GatewayConfig; errors: string[] } {
  const tree = validConfig();
  change(tree);
  const result = parseConfig(toYaml(tree), env);
  return result.ok ? { config: result.config, errors: [] } : { errors: errorsOf(result) };
}

/** provider-alpha with a third key and a pool `team` of all three; Alice on the pool. */
function withTeamPool(pool: Record<string, unknown> = {}): (c: Config) => void {
  return (c) => {
    c.providers[0].apiKeys.api = '${OPENAI_KEY}';
    c.providers[0].keyPools = { team: { keys: ['main-key', 'spare-key', 'api'], ...pool } };
    c.users[0].providerKeyName = 'team';
  };
}

describe('keyPools', () => {
  it('reads a pool with its keys in order and its defaults', () => {
    const { config } = load(withTeamPool(), { OPENAI_KEY: 'sk-api-key-0000000000000' });
    const pool = config?.providers.get('provider-alpha')?.keyPools?.get('team');
    expect(pool).toEqual({
      name: 'team',
      provider: 'provider-alpha',
      keys: [
        { kind: 'static', name: 'main-key', value: KEYS.alphaMain },
        { kind: 'static', name: 'spare-key', value: KEYS.alphaSpare },
        { kind: 'static', name: 'api', value: 'sk-api-key-0000000000000' },
      ],
      strategy: 'round-robin',
      cooldownMs: 60_000,
      authCooldownMs: 600_000,
    });
  });

  it('reads strategy, cooldownMs and authCooldownMs', () => {
    const { config } = load(withTeamPool({ strategy: 'sticky', cooldownMs: 5000, authCooldownMs: 7000 }), { OPENAI_KEY: 'k' });
    expect(config?.providers.get('provider-alpha')?.keyPools?.get('team')).toMatchObject({ strategy: 'sticky', cooldownMs: 5000, authCooldownMs: 7000 });
  });

  it('takes ten times cooldownMs as the auth cooldown unless it is configured', () => {
    const { config } = load(withTeamPool({ strategy: 'fill-first', cooldownMs: 5000 }), { OPENAI_KEY: 'k' });
    expect(config?.providers.get('provider-alpha')?.keyPools?.get('team')).toMatchObject({ strategy: 'fill-first', authCooldownMs: 50_000 });
  });

  it("binds a user to a pool named in providerKeyName, with the pool's first key for features without failover", () => {
    const { config } = load(withTeamPool(), { OPENAI_KEY: 'k' });
    const alice = config?.users.find((u) => u.name === 'Alice');
    expect(alice?.pool).toBe(config?.providers.get('provider-alpha')?.keyPools?.get('team'));
    expect(alice?.key).toBe(alice?.pool?.keys[0]);
  });

  it('leaves users on a key without a pool', () => {
    const { config } = load(withTeamPool(), { OPENAI_KEY: 'k' });
    const carol = config?.users.find((u) => u.name === 'Carol');
    expect(carol?.pool).toBeUndefined();
    expect(carol?.key.name).toBe('spare-key');
  });

  it('takes OAuth keys as pool members', () => {
    const { config } = load((c) => {
      c.providers[0].apiKeys['acct-1'] = { oauth: 'openai-codex', credentialsFile: '/var/lib/piapi/acct-1.json' };
      c.providers[0].keyPools = { team: { keys: ['acct-1', 'main-key'] } };
    });
    expect(config?.providers.get('provider-alpha')?.keyPools?.get('team')?.keys[0]).toMatchObject({ kind: 'oauth', name: 'acct-1', oauth: 'openai-codex' });
  });

  it('gives providers without pools an empty pool map', () => {
    expect(load(() => undefined).config?.providers.get('provider-beta')?.keyPools?.size).toBe(0);
  });

  it.each<[string, (c: Config) => void, string[]]>([
    [
      'a pool named like a key',
      (c) => (c.providers[0].keyPools = { 'main-key': { keys: ['spare-key'] } }),
      ['providers[0].keyPools.main-key: "main-key" is also a key name; pools and keys share one namespace'],
    ],
    ['a member that is not a key', (c) => (c.providers[0].keyPools = { team: { keys: ['main-key', 'nope'] } }), ['providers[0].keyPools.team.keys[1]: "nope" is not a key of provider "provider-alpha"']],
    [
      "a member that is another provider's key",
      (c) => (c.providers[0].keyPools = { team: { keys: ['prod-key'] } }),
      ['providers[0].keyPools.team.keys[0]: "prod-key" is not a key of provider "provider-alpha"'],
    ],
    [
      'a member that is a pool',
      (c) => (c.providers[0].keyPools = { a: { keys: ['main-key'] }, b: { keys: ['a'] } }),
      ['providers[0].keyPools.b.keys[0]: "a" is a pool; a pool lists keys only'],
    ],
    ['a key listed twice', (c) => (c.providers[0].keyPools = { team: { keys: ['main-key', 'main-key'] } }), ['providers[0].keyPools.team.keys[1]: "main-key" is listed twice']],
    ['an empty pool', (c) => (c.providers[0].keyPools = { team: { keys: [] } }), ['providers[0].keyPools.team.keys: must name at least one key']],
    ['a pool without keys', (c) => (c.providers[0].keyPools = { team: { strategy: 'sticky' } }), ['providers[0].keyPools.team.keys: is required']],
    [
      'an unknown strategy',
      (c) => (c.providers[0].keyPools = { team: { keys: ['main-key'], strategy: 'random' } }),
      ['providers[0].keyPools.team.strategy: must be one of "round-robin", "sticky", "fill-first"'],
    ],
    ['a cooldown of 0', (c) => (c.providers[0].keyPools = { team: { keys: ['main-key'], cooldownMs: 0 } }), ['providers[0].keyPools.team.cooldownMs: must not be less than 1']],
    ['a misspelt field', (c) => (c.providers[0].keyPools = { team: { keys: ['main-key'], cooldown: 5 } }), ['providers[0].keyPools.team.cooldown: unknown field']],
    ['a pool that is a list', (c) => (c.providers[0].keyPools = { team: ['main-key'] }), ['providers[0].keyPools.team: must be a mapping']],
    ['keyPools as a list', (c) => (c.providers[1].keyPools = [{ keys: ['prod-key'] }]), ['providers[1].keyPools: must be a mapping']],
    ['members that are not names', (c) => (c.providers[0].keyPools = { team: { keys: [{ k: 1 }] } }), ['providers[0].keyPools.team.keys: must be a string']],
    [
      'a pool with a bad name',
      (c) => (c.providers[0].keyPools = { 'my team': { keys: ['main-key'] } }),
      ['providers[0].keyPools.my team: "my team" is not a valid name (letters, digits, ".", "_", "-")'],
    ],
    [
      'a user on a pool of another provider',
      (c) => {
        c.providers[0].keyPools = { team: { keys: ['main-key'] } };
        c.users[1].providerKeyName = 'team';
      },
      ['users[1].providerKeyName: "team" is not a key of provider "provider-beta"'],
    ],
    [
      'a user on a name that is neither key nor pool of a provider with pools',
      (c) => {
        c.providers[0].keyPools = { team: { keys: ['main-key'] } };
        c.users[0].providerKeyName = 'teem';
      },
      ['users[0].providerKeyName: "teem" is not a key or key pool of provider "provider-alpha"'],
    ],
  ])('refuses %s, naming its path', (_what, change, expected) => {
    expect(load(change).errors).toEqual(expected);
  });
});

describe('http.replayBodyBytes', () => {
  it('defaults to 16 MiB', () => {
    expect(load(() => undefined).config?.http.replayBodyBytes).toBe(16 * 1024 * 1024);
  });

  it('reads a value, 0 included (never replay)', () => {
    expect(load((c) => (c.http = { replayBodyBytes: 1024 })).config?.http.replayBodyBytes).toBe(1024);
    expect(load((c) => (c.http = { replayBodyBytes: 0 })).config?.http.replayBodyBytes).toBe(0);
  });

  it.each<[unknown, string]>([
    [-1, 'http.replayBodyBytes: must not be less than 0'],
    [1.5, 'http.replayBodyBytes: must be an integer'],
    ['16M', 'http.replayBodyBytes: must be an integer'],
  ])('refuses %j, naming its path', (value, expected) => {
    expect(load((c) => (c.http = { replayBodyBytes: value })).errors).toEqual([expected]);
  });
});
