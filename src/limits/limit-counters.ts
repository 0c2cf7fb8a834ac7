import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisStateStore } from '../state/redis-state-store.js';
import { MemorySlots, type Lease } from './concurrency-slots.js';
import type { OutageLedger } from './outage-ledger.js';
import { RedisLimitCounters } from './redis-limit-counters.js';

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

const MINUTE_S = 60;
const DAY_S = 86_400;
/** The library only counts (its `points` are never reached); the decision is user-limiter.ts's, per user. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/** The counters behind per-user limits: process memory (no `state.redis`) or Redis. */
export interface LimitCounters {
  /** Counts the request and reads the rest of the plan; throws StateStoreUnavailableError when Redis cannot answer in time. */
  check(user: string, plan: CheckPlan): Promise<Counts>;
  /** Adds a finished request's tokens to its user's minute and day. */
  record(user: string, tokens: number, at: number): Promise<void>;
  /** Tokens used while Redis could not count them (Redis only). */
  readonly ledger?: OutageLedger;
  flush(now?: number): Promise<void>;
}

export const LimitCounters = {
  memory: (): LimitCounters => new MemoryLimitCounters(),
  /** `leaseMs`: how long a concurrency slot outlives a holder that stopped refreshing it. */
  redis: (store: RedisStateStore, leaseMs?: number): LimitCounters => new RedisLimitCounters(store, leaseMs),
};

/** One process's counters: rate-limiter-flexible's fixed windows in memory, and in-flight counts. */
class MemoryLimitCounters implements LimitCounters {
  private readonly window = (duration: number) => new RateLimiterMemory({ points: UNBOUNDED, duration });
  private readonly requests = this.window(MINUTE_S);
  private readonly tokensMinute = this.window(MINUTE_S);
  private readonly tokensDay = this.window(DAY_S);
  private readonly slots = new MemorySlots();

  async check(user: string, plan: CheckPlan): Promise<Counts> {
    const [requests, tokensMinute, tokensDay, lease] = await Promise.all([
      plan.requests ? this.requests.consume(user, 1).then(windowCount) : undefined,
      plan.tokensMinute ? this.tokensMinute.get(user).then(windowCount) : undefined,
      plan.tokensDay === undefined ? undefined : this.tokensDay.get(dayKey(user, plan.tokensDay)).then((r) => r?.consumedPoints ?? 0),
      plan.slots === undefined ? undefined : this.slots.tryAcquire(user, plan.slots),
    ]);
    return { requests, tokensMinute, tokensDay, lease };
  }

  async record(user: string, tokens: number, at: number): Promise<void> {
    await Promise.all([this.tokensMinute.penalty(user, tokens), this.tokensDay.penalty(dayKey(user, utcDay(at)), tokens)]);
  }

  async flush(): Promise<void> {}
}

function windowCount(res: RateLimiterRes | null): WindowCount {
  return res ? { count: res.consumedPoints, msLeft: res.msBeforeNext } : { count: 0, msLeft: 0 };
}

export function dayKey(user: string, day: string): string {
  return `${user}:${day}`;
}

/** `YYYY-MM-DD` of the UTC day `at` falls in: `tokensPerDay` counts calendar days in UTC. */
export function utcDay(at: number): string {
  // Twice per limited request: formatted once per day.
  if (at >= dayCache.start && at < dayCache.end) return dayCache.day;
  const d = new Date(at);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  dayCache = { start, end: start + 86_400_000, day: d.toISOString().slice(0, 10) };
  return dayCache.day;
}

let dayCache = { start: 0, end: 0, day: '' };

/** Milliseconds from `at` to the next UTC midnight. */
export function msToUtcMidnight(at: number): number {
  const d = new Date(at);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - at;
}
