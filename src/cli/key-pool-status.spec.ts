import { describe, expect, it } from 'vitest';
import { formatKeyPoolStatus, keyPoolStatus } from './key-pool-status.js';
import { parseExposition } from './prometheus-text.js';

/** What a gateway with chatgpt pools `team` (acct-1, acct-2) and `solo` (acct-1) exports after acct-1's 429. */
const METRICS = `# HELP piapi_provider_key_available 1 while a key pool member may be used
# TYPE piapi_provider_key_available gauge
piapi_provider_key_available{provider="chatgpt",key="acct-2"} 1
piapi_provider_key_available{provider="chatgpt",key="acct-1"} 0
piapi_provider_key_available{provider="claude",key="max"} 1
# TYPE piapi_provider_key_cooldown_seconds gauge
piapi_provider_key_cooldown_seconds{provider="chatgpt",key="acct-1"} 3541.2
piapi_provider_key_cooldown_seconds{provider="chatgpt",key="acct-2"} 0
piapi_provider_key_cooldown_seconds{provider="claude",key="max"} 0
# TYPE piapi_key_pool_keys gauge
piapi_key_pool_keys{provider="chatgpt",pool="team"} 2
piapi_key_pool_keys{provider="chatgpt",pool="solo"} 1
piapi_key_pool_keys{provider="claude",pool="all"} 1
# TYPE piapi_key_pool_available_keys gauge
piapi_key_pool_available_keys{provider="chatgpt",pool="team"} 1
piapi_key_pool_available_keys{provider="chatgpt",pool="solo"} 0
piapi_key_pool_available_keys{provider="claude",pool="all"} 1
# TYPE piapi_upstream_attempts_total counter
piapi_upstream_attempts_total{service_type="cx",provider="chatgpt",key="acct-1",outcome="rate_limited"} 1
piapi_upstream_attempts_total{service_type="cx",provider="chatgpt",key="acct-2",outcome="ok"} 4
piapi_upstream_attempts_total{service_type="cc",provider="chatgpt",key="acct-2",outcome="ok"} 2
piapi_upstream_attempts_total{service_type="cx",provider="chatgpt",key="acct-2",outcome="client_error"} 1
# TYPE piapi_requests_total counter
piapi_requests_total{service_type="cx",status_class="2xx"} 7
`;

describe('keyPoolStatus', () => {
  it('reads each provider’s keys, pools and attempts (summed over service types), sorted by name', () => {
    expect(keyPoolStatus(parseExposition(METRICS))).toEqual({
      providers: [
        {
          provider: 'chatgpt',
          keys: [
            { key: 'acct-1', available: false, freeInSeconds: 3541.2 },
            { key: 'acct-2', available: true, freeInSeconds: 0 },
          ],
          pools: [
            { pool: 'solo', availableKeys: 0, keys: 1 },
            { pool: 'team', availableKeys: 1, keys: 2 },
          ],
          attempts: [
            { key: 'acct-1', outcome: 'rate_limited', count: 1 },
            { key: 'acct-2', outcome: 'client_error', count: 1 },
            { key: 'acct-2', outcome: 'ok', count: 6 },
          ],
        },
        { provider: 'claude', keys: [{ key: 'max', available: true, freeInSeconds: 0 }], pools: [{ pool: 'all', availableKeys: 1, keys: 1 }], attempts: [] },
      ],
    });
  });

  it('has no provider for a gateway without key pools', () => {
    expect(keyPoolStatus(parseExposition('piapi_requests_total{service_type="cx",status_class="2xx"} 7\n'))).toEqual({ providers: [] });
  });

  it('reads a gateway that exports only the per-key gauge: no seconds left, no pool sizes', () => {
    const status = keyPoolStatus(parseExposition('piapi_provider_key_available{provider="p",key="k"} 0\npiapi_key_pool_available_keys{provider="p",pool="x"} 0\n'));
    expect(status.providers[0]).toMatchObject({ keys: [{ key: 'k', available: false, freeInSeconds: 0 }], pools: [{ pool: 'x', availableKeys: 0 }] });
    expect(status.providers[0].pools[0]).not.toHaveProperty('keys');
  });
});

describe('formatKeyPoolStatus', () => {
  it('prints per provider the keys available or cooling down with the seconds left, the pools, and the attempts by key', () => {
    expect(formatKeyPoolStatus(keyPoolStatus(parseExposition(METRICS)))).toBe(
      [
        'chatgpt',
        '  keys',
        '    acct-1  cooling down, free in 3542 s (59 min)',
        '    acct-2  available',
        '  pools',
        '    solo  0 of 1 key available, exhausted',
        '    team  1 of 2 keys available',
        '  attempts',
        '    acct-1  rate_limited 1',
        '    acct-2  client_error 1, ok 6',
        '',
        'claude',
        '  keys',
        '    max  available',
        '  pools',
        '    all  1 of 1 key available',
        '  attempts',
        '    none yet',
        '',
      ].join('\n'),
    );
  });

  it('rounds the seconds left up, and gives hours beside long cooldowns', () => {
    const status = (freeInSeconds: number) => ({ providers: [{ provider: 'p', keys: [{ key: 'k', available: false, freeInSeconds }], pools: [], attempts: [] }] });
    const line = (s: number) => formatKeyPoolStatus(status(s)).split('\n')[2];
    expect([line(0.2), line(119.5), line(7385)]).toEqual([
      '    k  cooling down, free in 1 s',
      '    k  cooling down, free in 120 s (2 min)',
      '    k  cooling down, free in 7385 s (2 h 3 min)',
    ]);
  });
});
