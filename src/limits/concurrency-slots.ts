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

interface HeldLease {
  key: string;
  limit: number;
  identifier: string;
}

/**
 * Leases shared by every process on one Redis: redis-semaphore's semaphore (a sorted set of
 * lease ids scored by time, taken and trimmed in one script, so two processes never both take
 * the last slot). A lease whose holder died expires after `leaseMs`; live ones are refreshed
 * every third of it, all of a process's by one timer here: redis-semaphore's own refresh timer
 * lets a failed refresh (Redis away) become an unhandled rejection, which would end the process.
 */
export class RedisSlots implements ConcurrencySlots {
  private readonly held = new Set<HeldLease>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: RedisStateStore,
    private readonly leaseMs = LEASE_MS,
  ) {}

  async tryAcquire(user: string, limit: number): Promise<Lease | undefined> {
    const key = `concurrency:${user}`;
    const semaphore = new Semaphore(this.store.client, key, limit, { lockTimeout: this.leaseMs, refreshInterval: 0, acquireAttemptsLimit: 1 });
    if (!(await semaphore.tryAcquire())) return undefined;
    const lease: HeldLease = { key, limit, identifier: semaphore.identifier };
    this.held.add(lease);
    this.timer ??= setInterval(() => this.refreshAll(), this.leaseMs / 3).unref();
    return {
      release: () => {
        if (!this.held.delete(lease)) return;
        if (this.held.size === 0) {
          clearInterval(this.timer);
          this.timer = undefined;
        }
        // Unreachable Redis: the lease expires by itself.
        this.store.run('lease_release', () => semaphore.release()).catch(() => undefined);
      },
    };
  }

  private refreshAll(): void {
    for (const lease of this.held) {
      // redis-semaphore's way to refresh a lease taken elsewhere: its id, "acquired externally".
      const semaphore = new Semaphore(this.store.client, lease.key, lease.limit, {
        identifier: lease.identifier,
        acquiredExternally: true,
        lockTimeout: this.leaseMs,
        refreshInterval: 0,
      });
      // A lease lost meanwhile (Redis restarted empty) is not taken again: the request goes on.
      this.store.run('lease_refresh', () => semaphore.tryAcquire()).catch(() => undefined);
    }
  }
}
