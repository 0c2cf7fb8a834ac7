import type { GatewayConfig, KeyPool } from '../config/gateway-config.js';
import type { RedisStateStore } from '../state/redis-state-store.js';
import { MemoryCooldownStore, RedisCooldownStore, type CooldownStore } from './cooldown-store.js';
import { KeyAttempts } from './key-attempts.js';
import { afterFailure, successClears, type KeyFailure } from './key-cooldown.js';
import { keyOrder } from './key-order.js';
import { poolMembers, providerAvailability, type Availability } from './pool-availability.js';

/**
 * The key pools of a gateway process: which key a request tries next, and what its attempts
 * teach the cooldown store (Redis when the config has `state.redis`, else this process's
 * memory). Plain TypeScript; pools.module.ts is its Nest face.
 */
export class KeyPools {
  private readonly memory = new MemoryCooldownStore();
  private readonly shared = new WeakMap<RedisStateStore, RedisCooldownStore>();
  /** Round-robin counters, by provider and pool name (they survive reloads). */
  private readonly turns = new Map<string, number>();
  private readonly names = new WeakMap<KeyPool, readonly string[]>();

  constructor(
    private readonly redis: (config: GatewayConfig) => RedisStateStore | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  store(config: GatewayConfig): CooldownStore {
    const redis = this.redis(config);
    if (!redis) return this.memory;
    let store = this.shared.get(redis);
    if (!store) this.shared.set(redis, (store = new RedisCooldownStore(redis)));
    return store;
  }

  /** The keys a request of `user` may try, in order, with the cooldowns known when it starts. */
  begin(config: GatewayConfig, pool: KeyPool, user: string): KeyAttempts | Promise<KeyAttempts> {
    const names = this.keyNames(pool);
    const id = `${pool.provider}\u0000${pool.name}`;
    const turn = this.turns.get(id) ?? 0;
    this.turns.set(id, (turn + 1) % 1_000_000_007);
    const order = keyOrder(names, pool.strategy, user, turn);
    const records = this.store(config).read(pool.provider, names, this.now());
    return records instanceof Promise ? records.then((r) => new KeyAttempts(order, r)) : new KeyAttempts(order, records);
  }

  /** Cools a key down after a failure; `freeAt` is the upstream's hint (cooldown-hints.ts). */
  async failed(config: GatewayConfig, pool: KeyPool, attempts: KeyAttempts, index: number, failure: KeyFailure, freeAt: number | undefined): Promise<void> {
    const now = this.now();
    const record = await this.store(config).update(pool.provider, pool.keys[index].name, (prev) => afterFailure(prev, failure, freeAt, pool, now), now);
    attempts.update(index, record);
  }

  /** A key answered: its failure record, if any and over, is cleared (without making the request wait). */
  succeeded(config: GatewayConfig, pool: KeyPool, attempts: KeyAttempts, index: number): void {
    if (!successClears(attempts.record(index), this.now())) return;
    attempts.update(index, undefined);
    const cleared = this.store(config).clear(pool.provider, pool.keys[index].name);
    if (cleared instanceof Promise) cleared.catch(() => undefined);
  }

  /** Every pool member and pool of the config, available or cooling down, for /metrics (pool-availability.ts). */
  async availability(config: GatewayConfig): Promise<Availability> {
    const out: Availability = { keys: [], pools: [] };
    const store = this.store(config);
    const now = this.now();
    for (const provider of config.providers.values()) {
      const members = poolMembers(provider);
      if (members.length === 0) continue;
      const { keys, pools } = providerAvailability(provider, members, await store.read(provider.name, members, now), now);
      out.keys.push(...keys);
      out.pools.push(...pools);
    }
    return out;
  }

  private keyNames(pool: KeyPool): readonly string[] {
    let names = this.names.get(pool);
    if (!names) this.names.set(pool, (names = pool.keys.map((k) => k.name)));
    return names;
  }
}
