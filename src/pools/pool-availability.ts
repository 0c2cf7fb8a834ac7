import type { Provider } from '../config/gateway-config.js';
import { isCooling, type CooldownRecord } from './key-cooldown.js';

/** A pool member, for `piapi_provider_key_available` and `piapi_provider_key_cooldown_seconds`. */
export interface KeyAvailability {
  provider: string;
  /** The config's key name, never its value. */
  key: string;
  available: boolean;
  /** Seconds until the key is free again; 0 while it is available. */
  cooldownSeconds: number;
}

/** A pool, for `piapi_key_pool_keys` and `piapi_key_pool_available_keys`. */
export interface PoolAvailability {
  provider: string;
  pool: string;
  /** Its member keys. */
  keys: number;
  /** Of those, the ones not cooling down: 0 means every request of its users is refused. */
  availableKeys: number;
}

export interface Availability {
  keys: KeyAvailability[];
  pools: PoolAvailability[];
}

/**
 * Every key that is a member of one of the provider's pools, once each (a key may be in several
 * pools, and its cooldown is the same in all of them: it is the account that is limited).
 */
export function poolMembers(provider: Provider): string[] {
  const members = new Set<string>();
  for (const pool of provider.keyPools?.values() ?? []) for (const key of pool.keys) members.add(key.name);
  return [...members];
}

/**
 * The availability of a provider's pool members and pools at `now`, from the cooldown records of
 * `members` (as {@link poolMembers} lists them, in that order).
 */
export function providerAvailability(provider: Provider, members: readonly string[], records: readonly (CooldownRecord | undefined)[], now: number): Availability {
  const cooling = new Set<string>();
  const keys = members.map((key, i): KeyAvailability => {
    const record = records[i];
    const available = !isCooling(record, now);
    const cooldownSeconds = available ? 0 : ((record as CooldownRecord).until - now) / 1000;
    if (!available) cooling.add(key);
    return { provider: provider.name, key, available, cooldownSeconds };
  });
  const pools = [...(provider.keyPools?.values() ?? [])].map(
    (pool): PoolAvailability => ({
      provider: provider.name,
      pool: pool.name,
      keys: pool.keys.length,
      availableKeys: pool.keys.filter((k) => !cooling.has(k.name)).length,
    }),
  );
  return { keys, pools };
}
