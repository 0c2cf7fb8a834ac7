import { Semaphore } from 'redis-semaphore';
import type { RedisStateStore } from '../state/redis-state-store.js';

/** One in-flight request's place under a user's `concurrentRequests`; released once, when the response closes. */
export interface Lease {
  release(): void;
}

export interface ConcurrencySlots {
  /** A lease when fewer than `limit` of the user's requests are in flight, else undefined. */
  tryAcquire(user: string, limit: number): Promise<Lease | undefined>;
}

/** In-flight counts of this process only (no `state.redis`). */
export class MemorySlots implements ConcurrencySlots {
  private readonly held = new Map<string, number>();

  tryAcquire(user: string, limit: number): Promise<Lease | undefined> {
    const n = this.held.get(user) ?? 0;
    if (n >= limit) return Promise.resolve(undefined);
    this.held.set(user, n + 1);
    let released = false;
    return Promise.resolve({
      release: () => {
        if (released) return;
        released = true;
        const left = (this.held.get(user) ?? 1) - 1;
        if (left > 0) this.held.set(user, left);
        else this.held.delete(user);
      },
    });
  }

  /** For tests and the start log. */
  inFlight(user: string): number {
    return this.held.get(user) ?? 0;
  }
}

/** How long a lease outlives its last refresh: a process that dies frees its slots within this. */
export const LEASE_MS = 30_000;

/**
 * Leases shared by every process on one Redis: redis-semaphore's semaphore (a sorted set of
 * lease ids scored by time, taken and trimmed in one script, so two processes never both take
 * the last slot). A live lease is refreshed every third of {@link LEASE_MS}; one whose holder
 * died expires.
 */
export class RedisSlots implements ConcurrencySlots {
  constructor(private readonly store: RedisStateStore) {}

  async tryAcquire(user: string, limit: number): Promise<Lease | undefined> {
    const semaphore = new Semaphore(this.store.client, `concurrency:${user}`, limit, {
      lockTimeout: LEASE_MS,
      refreshInterval: LEASE_MS / 3,
      acquireAttemptsLimit: 1,
      // A refresh that fails (Redis away, or restarted without the lease) changes nothing here:
      // the request goes on, and the lease is gone or expires.
      onLockLost: () => undefined,
    });
    if (!(await semaphore.tryAcquire())) return undefined;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        semaphore.stopRefresh();
        // Unreachable Redis: the lease expires by itself.
        this.store.run('lease_release', () => semaphore.release()).catch(() => undefined);
      },
    };
  }
}
