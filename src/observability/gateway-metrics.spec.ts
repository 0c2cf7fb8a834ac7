import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Availability } from '../pools/pool-availability.js';
import { GatewayMetrics, type GatewayMetricSet } from './gateway-metrics.js';
import { METRIC } from './metric-names.js';

/** The four key pool gauges in a registry of their own, fed from `source`. */
function poolGauges(source: () => Promise<Availability>) {
  const registry = new Registry();
  const gauge = <L extends string>(name: string, labelNames: L[]) => new Gauge<L>({ name, help: 'h', labelNames, registers: [registry] });
  const set = {
    providerKeyAvailable: gauge(METRIC.providerKeyAvailable, ['provider', 'key']),
    providerKeyCooldown: gauge(METRIC.providerKeyCooldown, ['provider', 'key']),
    keyPoolKeys: gauge(METRIC.keyPoolKeys, ['provider', 'pool']),
    keyPoolAvailableKeys: gauge(METRIC.keyPoolAvailableKeys, ['provider', 'pool']),
  };
  new GatewayMetrics(set as unknown as GatewayMetricSet).keyAvailability(source);
  return registry;
}

const COOLING: Availability = {
  keys: [
    { provider: 'chatgpt', key: 'acct-1', available: false, cooldownSeconds: 42.5 },
    { provider: 'chatgpt', key: 'acct-2', available: true, cooldownSeconds: 0 },
  ],
  pools: [
    { provider: 'chatgpt', pool: 'team', keys: 2, availableKeys: 1 },
    { provider: 'chatgpt', pool: 'solo', keys: 1, availableKeys: 0 },
  ],
};

describe('GatewayMetrics.keyAvailability', () => {
  it('exports each key as available or not with its cooldown seconds, and each pool with its keys and available keys', async () => {
    const text = await poolGauges(() => Promise.resolve(COOLING)).metrics();
    const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(samples.sort()).toEqual(
      [
        'piapi_provider_key_available{provider="chatgpt",key="acct-1"} 0',
        'piapi_provider_key_available{provider="chatgpt",key="acct-2"} 1',
        'piapi_provider_key_cooldown_seconds{provider="chatgpt",key="acct-1"} 42.5',
        'piapi_provider_key_cooldown_seconds{provider="chatgpt",key="acct-2"} 0',
        'piapi_key_pool_keys{provider="chatgpt",pool="team"} 2',
        'piapi_key_pool_keys{provider="chatgpt",pool="solo"} 1',
        'piapi_key_pool_available_keys{provider="chatgpt",pool="team"} 1',
        'piapi_key_pool_available_keys{provider="chatgpt",pool="solo"} 0',
      ].sort(),
    );
  });

  it('reads the cooldowns once per scrape for all four gauges', async () => {
    let reads = 0;
    const registry = poolGauges(() => {
      reads++;
      return new Promise((resolve) => setTimeout(() => resolve(COOLING), 5));
    });
    await registry.metrics();
    expect(reads).toBe(1);
    await registry.metrics();
    expect(reads).toBe(2);
  });

  it('drops the series of keys and pools the config no longer has', async () => {
    let current = COOLING;
    const registry = poolGauges(() => Promise.resolve(current));
    await registry.metrics();
    current = { keys: [COOLING.keys[1]], pools: [COOLING.pools[0]] };
    const text = await registry.metrics();
    expect(text).not.toContain('acct-1');
    expect(text).not.toContain('solo');
    expect(text).toContain('piapi_key_pool_available_keys{provider="chatgpt",pool="team"} 1');
  });
});
