import { describe, expect, it } from 'vitest';
import { toYaml } from '../../test/support/config-fixtures.js';
import { parseConfig } from '../config/config-loader.js';
import type { Provider } from '../config/gateway-config.js';
import { poolMembers, providerAvailability } from './pool-availability.js';

const NOW = 1_700_000_000_000;

/** chatgpt: pools `team` (a, b, c) and `solo` (a), key `spare` in no pool. */
function provider(): Provider {
  const result = parseConfig(
    toYaml({
      providers: [
        {
          name: 'chatgpt',
          apiKeys: { a: 'sk-a-secret', b: 'sk-b-secret', c: 'sk-c-secret', spare: 'sk-spare-secret' },
          keyPools: { team: { keys: ['a', 'b', 'c'] }, solo: { keys: ['a'] } },
          services: [{ type: 'cx', baseUrl: 'http://127.0.0.1:1' }],
        },
      ],
      users: [{ name: 'Alice', apiKey: 'piapi-user-alice-0123456789', providerName: 'chatgpt', providerKeyName: 'team' }],
    }),
    {},
  );
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config.providers.get('chatgpt')!;
}

describe('poolMembers', () => {
  it('lists every key of any pool once, and no key outside the pools', () => {
    expect(poolMembers(provider())).toEqual(['a', 'b', 'c']);
  });
});

describe('providerAvailability', () => {
  it('counts every key available, with no cooldown, when none has a record', () => {
    const p = provider();
    expect(providerAvailability(p, poolMembers(p), [undefined, undefined, undefined], NOW)).toEqual({
      keys: ['a', 'b', 'c'].map((key) => ({ provider: 'chatgpt', key, available: true, cooldownSeconds: 0 })),
      pools: [
        { provider: 'chatgpt', pool: 'team', keys: 3, availableKeys: 3 },
        { provider: 'chatgpt', pool: 'solo', keys: 1, availableKeys: 1 },
      ],
    });
  });

  it('gives a cooling key the seconds left until it is free, and takes it from every pool it is in', () => {
    const p = provider();
    const { keys, pools } = providerAvailability(p, poolMembers(p), [{ until: NOW + 90_500, failures: 1 }, undefined, undefined], NOW);
    expect(keys[0]).toEqual({ provider: 'chatgpt', key: 'a', available: false, cooldownSeconds: 90.5 });
    expect(pools).toEqual([
      { provider: 'chatgpt', pool: 'team', keys: 3, availableKeys: 2 },
      { provider: 'chatgpt', pool: 'solo', keys: 1, availableKeys: 0 },
    ]);
  });

  it('counts a key whose cooldown is over as available, though its record is still kept', () => {
    const p = provider();
    const records = [{ until: NOW, failures: 2 }, { until: NOW - 1, failures: 1 }, { until: NOW + 1, failures: 1 }];
    const { keys, pools } = providerAvailability(p, poolMembers(p), records, NOW);
    expect(keys.map((k) => [k.key, k.available, k.cooldownSeconds])).toEqual([
      ['a', true, 0],
      ['b', true, 0],
      ['c', false, 0.001],
    ]);
    expect(pools.map((x) => x.availableKeys)).toEqual([2, 1]);
  });

  it('reports a pool whose every key cools down with 0 available keys', () => {
    const p = provider();
    const cooling = { until: NOW + 1000, failures: 1 };
    const { pools } = providerAvailability(p, poolMembers(p), [cooling, cooling, cooling], NOW);
    expect(pools.map((x) => `${x.pool} ${x.availableKeys}/${x.keys}`)).toEqual(['team 0/3', 'solo 0/1']);
  });
});
