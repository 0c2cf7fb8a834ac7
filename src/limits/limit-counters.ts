import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract, type RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisStateStore, StateOperation } from '../state/redis-state-store.js';
import { MemorySlots, RedisSlots, type ConcurrencySlots, type Lease } from './concurrency-slots.js';
import { OutageLedger } from './outage-ledger.js';

/** A fixed window's count (including what was just added) and the time until it starts over. */
export interface WindowCount {
  count: number;
  msLeft: number;
}

/** What one admission asks the counters, all at once (one round trip to Redis). */
export interface CheckPlan {
  /** Count this request in the user's current minute. */
  requests: boolean;
  /** Read the user's tokens of the current minute. */
  tokensMinute: boolean;
  /** Read the user's tokens of this UTC day (`YYYY-MM-DD`). */
  tokensDay?: string;
  /** Take one of this many concurrency slots. */
  slots?: number;
}

export interface Counts {
  requests?: WindowCount;
  tokensMinute?: WindowCount;
  tokensDay?: number;
  /** Taken when the plan asked for a slot and one was free. */
  lease?: Lease;
}

type Run = <T>(operation: StateOperation, fn: () => Promise<T>) => Promise<T>;

const MINUTE_S = 60;
/** A day's key is written on that day, so one day of life keeps it to the day's end. */
const DAY_S = 86_400;
/** The library only counts (its `points` are never reached); the decision is user-limiter.ts's, per user. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;
/** Outage tokens are written back in batches of this many users-days. */
const FLUSH_BATCH = 500;

/**
 * The counters behind per-user limits: fixed windows from rate-limiter-flexible (atomic
 * increments: in Redis one script per count) and concurrency slots. One implementation for
 * both stores: process memory (no `state.redis`) and Redis, where tokens that could not be
 * counted during an outage are kept in an {@link OutageLedger} and added once Redis is back.
 */
export class LimitCounters {
  private constructor(
    private readonly requests: RateLimiterAbstract,
    private readonly tokensMinute: RateLimiterAbstract,
    private readonly tokensDay: RateLimiterAbstract,
    private readonly slots: ConcurrencySlots,
    private readonly run: Run,
    readonly ledger: OutageLedger | undefined,
  ) {}

  static memory(): LimitCounters {
    const window = (duration: number) => new RateLimiterMemory({ points: UNBOUNDED, duration });
    return new LimitCounters(window(MINUTE_S), window(MINUTE_S), window(DAY_S), new MemorySlots(), (_op, fn) => fn(), undefined);
  }

  /** `leaseMs`: how long a concurrency slot outlives a holder that stopped refreshing it (see concurrency-slots.ts). */
  static redis(store: RedisStateStore, leaseMs?: number): LimitCounters {
    const window = (keyPrefix: string, duration: number) =>
      new RateLimiterRedis({ storeClient: store.client, keyPrefix, points: UNBOUNDED, duration });
    const counters = new LimitCounters(
      window('limits:requests', MINUTE_S),
      window('limits:tokens-minute', MINUTE_S),
      window('limits:tokens-day', DAY_S),
      new RedisSlots(store, leaseMs),
      (operation, fn) => store.run(operation, fn),
      new OutageLedger(),
    );
    store.onAvailable(() => void counters.flush());
    return counters;
  }

  /** Throws StateStoreUnavailableError when Redis cannot answer in time (no lease is left taken). */
  async check(user: string, plan: CheckPlan): Promise<Counts> {
    let slot: Promise<Lease | undefined> | undefined;
    try {
      return await this.run('limit_check', async () => {
        slot = plan.slots === undefined ? undefined : this.slots.tryAcquire(user, plan.slots);
        const [requests, tokensMinute, tokensDay, lease] = await Promise.all([
          plan.requests ? this.requests.consume(user, 1).then(windowCount) : undefined,
          plan.tokensMinute ? this.tokensMinute.get(user).then(windowCount) : undefined,
          plan.tokensDay === undefined ? undefined : this.tokensDay.get(dayKey(user, plan.tokensDay)).then((r) => r?.consumedPoints ?? 0),
          slot,
        ]);
        return { requests, tokensMinute, tokensDay, lease };
      });
    } catch (err) {
      // Timed out while the slot was being taken: give it back if it arrives late.
      slot?.then((lease) => lease?.release(), () => undefined);
      throw err;
    }
  }

  /** Adds a finished request's tokens to its user's minute and day; kept for later when Redis is away. */
  async record(user: string, tokens: number, at: number): Promise<void> {
    const day = utcDay(at);
    try {
      await this.run('token_record', () => Promise.all([this.tokensMinute.penalty(user, tokens), this.tokensDay.penalty(dayKey(user, day), tokens)]));
    } catch (err) {
      if (!this.ledger) throw err;
      this.ledger.add(user, day, tokens, at);
    }
  }

  /** Writes the outage ledger into the counters; what fails stays for the next time Redis is back. */
  async flush(now = Date.now()): Promise<void> {
    const ledger = this.ledger;
    if (!ledger || ledger.size === 0) return;
    const today = utcDay(now);
    // Past days' counters are read no more.
    const entries = ledger.drain().filter((e) => e.day === today);
    for (let i = 0; i < entries.length; i += FLUSH_BATCH) {
      const batch = entries.slice(i, i + FLUSH_BATCH);
      try {
        await this.run('outage_flush', () =>
          Promise.all(
            batch.flatMap((e) => {
              const recent = ledger.recentAt(e, now);
              const day = this.tokensDay.penalty(dayKey(e.user, e.day), e.tokens);
              return recent > 0 ? [day, this.tokensMinute.penalty(e.user, recent)] : [day];
            }),
          ),
        );
      } catch {
        ledger.restore(entries.slice(i));
        return;
      }
    }
  }
}

function windowCount(res: RateLimiterRes | null): WindowCount {
  return res ? { count: res.consumedPoints, msLeft: res.msBeforeNext } : { count: 0, msLeft: 0 };
}

function dayKey(user: string, day: string): string {
  return `${user}:${day}`;
}

/** `YYYY-MM-DD` of the UTC day `at` falls in: `tokensPerDay` counts calendar days in UTC. */
export function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** Milliseconds from `at` to the next UTC midnight. */
export function msToUtcMidnight(at: number): number {
  const d = new Date(at);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - at;
}
