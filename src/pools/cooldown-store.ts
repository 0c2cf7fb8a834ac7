import type { RedisStateStore } from '../state/redis-state-store.js';
import { forgetAt, type CooldownRecord } from './key-cooldown.js';

/**
 * Where the cooldown records of pool keys live: process memory, or Redis shared by every
 * replica (so the fleet stops hammering a limited account). Keys are named by provider and key
 * *name*, never by value. Reads and writes of memory are synchronous: no await for them.
 */
export interface CooldownStore {
  /** The records of `keys` of `provider`, in order (undefined: never failed, cleared, or forgotten). */
  read(provider: string, keys: readonly string[], now: number): (CooldownRecord | undefined)[] | Promise<(CooldownRecord | undefined)[]>;
  /** Replaces a key's record by `change` of its current one; resolves to what was kept. */
  update(provider: string, key: string, change: (prev: CooldownRecord | undefined) => CooldownRecord, now: number): CooldownRecord | Promise<CooldownRecord>;
  clear(provider: string, key: string): void | Promise<void>;
}

/** Cooldowns of this process alone. A record is dropped once forgotten (key-cooldown.ts). */
export class MemoryCooldownStore implements CooldownStore {
  private readonly records = new Map<string, CooldownRecord>();

  read(provider: string, keys: readonly string[], now: number): (CooldownRecord | undefined)[] {
    return keys.map((key) => this.get(provider, key, now));
  }

  get(provider: string, key: string, now: number): CooldownRecord | undefined {
    const id = recordId(provider, key);
    const record = this.records.get(id);
    if (record && forgetAt(record) <= now) {
      this.records.delete(id);
      return undefined;
    }
    return record;
  }

  set(provider: string, key: string, record: CooldownRecord): void {
    this.records.set(recordId(provider, key), record);
  }

  update(provider: string, key: string, change: (prev: CooldownRecord | undefined) => CooldownRecord, now: number): CooldownRecord {
    const next = change(this.get(provider, key, now));
    this.set(provider, key, next);
    return next;
  }

  clear(provider: string, key: string): void {
    this.records.delete(recordId(provider, key));
  }
}

/**
 * Cooldowns in Redis (`<prefix>cooldown:<provider>:<key>` = `<until>:<failures>`, expiring when
 * forgotten), bounded by `commandTimeoutMs` like every state store operation. Redis is the
 * truth while it answers; what this process last read or wrote stays in memory for when it
 * does not, so an outage does not send requests to keys known to be limited. A record written
 * during an outage counts in this process's reads until Redis takes it on the next read.
 */
export class RedisCooldownStore implements CooldownStore {
  /** What this process last knew of each key it read or wrote. */
  private readonly local = new MemoryCooldownStore();
  /** Records written while Redis was unreachable (ids as in {@link recordId}). */
  private readonly pending = new Set<string>();

  constructor(private readonly store: RedisStateStore) {}

  async read(provider: string, keys: readonly string[], now: number): Promise<(CooldownRecord | undefined)[]> {
    if (!this.store.available) return this.local.read(provider, keys, now);
    let shared: (string | null)[];
    try {
      shared = await this.store.run('cooldown_read', (c) => c.mget(...keys.map((key) => redisKey(provider, key))));
    } catch {
      return this.local.read(provider, keys, now);
    }
    return keys.map((key, i) => {
      const record = parseRecord(shared[i]);
      const id = recordId(provider, key);
      if (this.pending.has(id)) return this.handOver(provider, key, record, now);
      if (record) this.local.set(provider, key, record);
      else this.local.clear(provider, key);
      return record;
    });
  }

  async update(provider: string, key: string, change: (prev: CooldownRecord | undefined) => CooldownRecord, now: number): Promise<CooldownRecord> {
    if (this.store.available) {
      try {
        const next = await this.store.run('cooldown_write', async (c) => {
          const prev = later(this.pending.has(recordId(provider, key)) ? this.local.get(provider, key, now) : undefined, parseRecord(await c.get(redisKey(provider, key))));
          const record = change(prev);
          await c.set(redisKey(provider, key), encode(record), 'PX', ttlMs(record, now));
          return record;
        });
        this.pending.delete(recordId(provider, key));
        this.local.set(provider, key, next);
        return next;
      } catch {
        // Kept in memory below.
      }
    }
    this.pending.add(recordId(provider, key));
    return this.local.update(provider, key, change, now);
  }

  async clear(provider: string, key: string): Promise<void> {
    this.local.clear(provider, key);
    this.pending.delete(recordId(provider, key));
    if (!this.store.available) return;
    try {
      await this.store.run('cooldown_write', (c) => c.del(redisKey(provider, key)));
    } catch {
      // The record expires by itself; a failed clear only keeps the failure count longer.
    }
  }

  /** A record kept during an outage meets Redis again: the later of the two counts, and goes to Redis. */
  private handOver(provider: string, key: string, shared: CooldownRecord | undefined, now: number): CooldownRecord | undefined {
    const id = recordId(provider, key);
    const mine = this.local.get(provider, key, now);
    const record = later(mine, shared);
    if (!mine) {
      this.pending.delete(id);
      return record;
    }
    if (record === mine) {
      this.store
        .run('cooldown_write', (c) => c.set(redisKey(provider, key), encode(mine), 'PX', ttlMs(mine, now)))
        .then(() => this.pending.delete(id))
        .catch(() => undefined);
    } else {
      this.pending.delete(id);
      if (record) this.local.set(provider, key, record);
    }
    return record;
  }
}

function encode(record: CooldownRecord): string {
  return `${record.until}:${record.failures}`;
}

function ttlMs(record: CooldownRecord, now: number): number {
  return Math.max(1, forgetAt(record) - now);
}

function recordId(provider: string, key: string): string {
  return `${provider}\u0000${key}`;
}

/** Provider and key names have no ":" (config KEY_NAME). */
function redisKey(provider: string, key: string): string {
  return `cooldown:${provider}:${key}`;
}

export function parseRecord(raw: string | null | undefined): CooldownRecord | undefined {
  if (!raw) return undefined;
  const match = /^(\d+):(\d+)$/.exec(raw);
  return match ? { until: Number(match[1]), failures: Number(match[2]) } : undefined;
}

/** Of two views of one key, the one that keeps it out longer. */
function later(a: CooldownRecord | undefined, b: CooldownRecord | undefined): CooldownRecord | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.until > a.until || (b.until === a.until && b.failures > a.failures) ? b : a;
}
