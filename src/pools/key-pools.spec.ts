import { describe, expect, it } from 'vitest';
import { toYaml } from '../../test/support/config-fixtures.js';
import { parseConfig } from '../config/config-loader.js';
import type { GatewayConfig, KeyPool } from '../config/gateway-config.js';
import { KeyPools } from './key-pools.js';

function configWith(strategy: string): GatewayConfig {
  const result = parseConfig(
    toYaml({
      providers: [
        {
          name: 'chatgpt',
          apiKeys: { 'acct-1': 'sk-1', 'acct-2': 'sk-2', api: 'sk-3', solo: 'sk-4' },
          keyPools: { team: { keys: ['acct-1', 'acct-2', 'api'], strategy, cooldownMs: 1000 } },
          services: [{ type: 'cx', baseUrl: 'http://127.0.0.1:1' }],
        },
      ],
      users: [{ name: 'Alice', apiKey: 'piapi-user-alice-0123456789', providerName: 'chatgpt', providerKeyName: 'team' }],
    }),
    {},
  );
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

function setup(strategy = 'round-robin') {
  const config = configWith(strategy);
  const pool = config.providers.get('chatgpt')!.keyPools!.get('team') as KeyPool;
  let now = 1_000_000;
  const pools = new KeyPools(() => undefined, () => now);
  const first = async (user = 'Alice') => {
    const attempts = await pools.begin(config, pool, user);
    const index = attempts.next(now);
    return { attempts, index, key: index === undefined ? undefined : pool.keys[index].name };
  };
  return { config, pool, pools, first, advance: (ms: number) => (now += ms), now: () => now };
}

describe('KeyPools', () => {
  it('spreads round-robin requests over the keys', async () => {
    const { first } = setup();
    const keys = [];
    for (let i = 0; i < 6; i++) keys.push((await first()).key);
    expect(keys).toEqual(['acct-1', 'acct-2', 'api', 'acct-1', 'acct-2', 'api']);
  });

  it('skips a key it cooled down, until its cooldown is over', async () => {
    const { config, pool, pools, first, advance, now } = setup('fill-first');
    const { attempts, index } = await first();
    await pools.failed(config, pool, attempts, index!, 'limited', undefined);
    expect(attempts.next(now())).toBe(1);
    expect((await first()).key).toBe('acct-2');
    advance(1000);
    expect((await first()).key).toBe('acct-1');
  });

  it("uses the upstream's hint for the cooldown", async () => {
    const { config, pool, pools, first, advance, now } = setup('fill-first');
    const { attempts, index } = await first();
    await pools.failed(config, pool, attempts, index!, 'limited', now() + 2000);
    advance(1999);
    expect((await first()).key).toBe('acct-2');
    advance(1);
    expect((await first()).key).toBe('acct-1');
  });

  it('keeps a sticky user on its key and moves it only while that key cools down', async () => {
    const { config, pool, pools, first, advance } = setup('sticky');
    const home = (await first()).key;
    for (let i = 0; i < 20; i++) expect((await first()).key).toBe(home);
    const { attempts, index } = await first();
    await pools.failed(config, pool, attempts, index!, 'failing', undefined);
    const away = (await first()).key;
    expect(away).not.toBe(home);
    advance(1000);
    expect((await first()).key).toBe(home);
  });

  it('clears a failure once the key answers after its cooldown, so the next failure does not double', async () => {
    const { config, pool, pools, first, advance, now } = setup('fill-first');
    let { attempts, index } = await first();
    await pools.failed(config, pool, attempts, index!, 'failing', undefined);
    advance(1000);
    ({ attempts, index } = await first());
    pools.succeeded(config, pool, attempts, index!);
    ({ attempts, index } = await first());
    await pools.failed(config, pool, attempts, index!, 'failing', undefined);
    expect(attempts.record(index!)).toEqual({ until: now() + 1000, failures: 1 });
  });

  it('doubles the cooldown of a key that fails again after its cooldown', async () => {
    const { config, pool, pools, first, advance, now } = setup('fill-first');
    let { attempts, index } = await first();
    await pools.failed(config, pool, attempts, index!, 'failing', undefined);
    advance(1000);
    ({ attempts, index } = await first());
    await pools.failed(config, pool, attempts, index!, 'failing', undefined);
    expect(attempts.record(index!)).toEqual({ until: now() + 2000, failures: 2 });
  });

  it('says no key is left, and when the soonest is free, when all cool down', async () => {
    const { config, pool, pools, first, now } = setup();
    const { attempts } = await first();
    await pools.failed(config, pool, attempts, 0, 'limited', now() + 5000);
    await pools.failed(config, pool, attempts, 1, 'limited', now() + 3000);
    await pools.failed(config, pool, attempts, 2, 'auth', undefined);
    const next = await first();
    expect(next.index).toBeUndefined();
    expect(next.attempts.soonestFreeAt(now())).toBe(now() + 3000);
  });

  it('reports every pool member as available or cooling down, and how many keys of each pool are available', async () => {
    const { config, pool, pools, first, advance } = setup('fill-first');
    const { attempts, index } = await first();
    await pools.failed(config, pool, attempts, index!, 'limited', undefined);
    advance(250);
    expect(await pools.availability(config)).toEqual({
      keys: [
        { provider: 'chatgpt', key: 'acct-1', available: false, cooldownSeconds: 0.75 },
        { provider: 'chatgpt', key: 'acct-2', available: true, cooldownSeconds: 0 },
        { provider: 'chatgpt', key: 'api', available: true, cooldownSeconds: 0 },
      ],
      pools: [{ provider: 'chatgpt', pool: 'team', keys: 3, availableKeys: 2 }],
    });
  });
});
