import { METRIC } from '../observability/metric-names.js';
import type { Sample } from './prometheus-text.js';

/** What `piapi keys status` shows of one provider: read from /metrics, key *names* only. */
export interface ProviderKeyStatus {
  provider: string;
  keys: { key: string; available: boolean; freeInSeconds: number }[];
  /** `keys` is absent from a gateway older than piapi_key_pool_keys. */
  pools: { pool: string; availableKeys: number; keys?: number }[];
  /** Summed over service types. */
  attempts: { key: string; outcome: string; count: number }[];
}

export interface KeyPoolStatus {
  providers: ProviderKeyStatus[];
}

/**
 * The key pools of a gateway as its /metrics shows them: every pool member (available, or
 * cooling down and free in some seconds), every pool with its available keys, and the attempts
 * by key and outcome. A provider without pool members is left out.
 */
export function keyPoolStatus(samples: readonly Sample[]): KeyPoolStatus {
  const providers = new Map<string, ProviderKeyStatus>();
  const of = (provider: string) => {
    let status = providers.get(provider);
    if (!status) providers.set(provider, (status = { provider, keys: [], pools: [], attempts: [] }));
    return status;
  };
  const cooldowns = new Map<string, number>();
  const poolSizes = new Map<string, number>();
  const attempts = new Map<string, { provider: string; key: string; outcome: string; count: number }>();
  for (const { name, labels, value } of samples) {
    const { provider, key, pool, outcome } = labels;
    if (provider === undefined) continue;
    if (name === METRIC.providerKeyAvailable && key !== undefined) of(provider).keys.push({ key, available: value === 1, freeInSeconds: 0 });
    else if (name === METRIC.providerKeyCooldown && key !== undefined) cooldowns.set(id(provider, key), value);
    else if (name === METRIC.keyPoolAvailableKeys && pool !== undefined) of(provider).pools.push({ pool, availableKeys: value });
    else if (name === METRIC.keyPoolKeys && pool !== undefined) poolSizes.set(id(provider, pool), value);
    else if (name === METRIC.upstreamAttempts && key !== undefined && outcome !== undefined) {
      const entry = attempts.get(id(provider, key, outcome));
      if (entry) entry.count += value;
      else attempts.set(id(provider, key, outcome), { provider, key, outcome, count: value });
    }
  }
  for (const status of providers.values()) {
    for (const k of status.keys) k.freeInSeconds = k.available ? 0 : (cooldowns.get(id(status.provider, k.key)) ?? 0);
    for (const p of status.pools) {
      const size = poolSizes.get(id(status.provider, p.pool));
      if (size !== undefined) p.keys = size;
    }
  }
  for (const { provider, ...count } of attempts.values()) providers.get(provider)?.attempts.push(count);
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = [...providers.values()].sort((a, b) => byName(a.provider, b.provider));
  for (const s of sorted) {
    s.keys.sort((a, b) => byName(a.key, b.key));
    s.pools.sort((a, b) => byName(a.pool, b.pool));
    s.attempts.sort((a, b) => byName(a.key, b.key) || byName(a.outcome, b.outcome));
  }
  return { providers: sorted };
}

function id(...parts: string[]): string {
  return parts.join('\u0000');
}

/** The status as text for a terminal, one block per provider. */
export function formatKeyPoolStatus(status: KeyPoolStatus): string {
  return status.providers.map(formatProvider).join('\n');
}

function formatProvider(s: ProviderKeyStatus): string {
  const keyWidth = Math.max(...s.keys.map((k) => k.key.length), ...s.attempts.map((a) => a.key.length));
  const poolWidth = Math.max(0, ...s.pools.map((p) => p.pool.length));
  const lines = [`${s.provider}`, '  keys'];
  for (const k of s.keys) lines.push(`    ${k.key.padEnd(keyWidth)}  ${k.available ? 'available' : `cooling down, free in ${freeIn(k.freeInSeconds)}`}`);
  lines.push('  pools');
  for (const p of s.pools) {
    const of = p.keys === undefined ? '' : ` of ${p.keys}`;
    const noun = (p.keys ?? p.availableKeys) === 1 ? 'key' : 'keys';
    lines.push(`    ${p.pool.padEnd(poolWidth)}  ${p.availableKeys}${of} ${noun} available${p.availableKeys === 0 ? ', exhausted' : ''}`);
  }
  lines.push('  attempts');
  if (s.attempts.length === 0) lines.push('    none yet');
  const keys = [...new Set(s.attempts.map((a) => a.key))];
  for (const key of keys) {
    const counts = s.attempts.filter((a) => a.key === key).map((a) => `${a.outcome} ${a.count}`);
    lines.push(`    ${key.padEnd(keyWidth)}  ${counts.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Whole seconds, rounded up (a key "free in 0 s" would still be cooling); minutes beside long ones. */
function freeIn(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  return `${s} s (${m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`})`;
}
