import { LIMIT_NAMES, type LimitName, type Limits, type User } from '../config/gateway-config.js';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import { StateStoreUnavailableError } from '../state/redis-state-store.js';
import type { Lease } from './concurrency-slots.js';
import { msToUtcMidnight, utcDay, type Counts, type LimitCounters } from './limit-counters.js';

/** What an admitted request owes its limits: its slot back when it ends, its tokens once known. */
export interface Admission {
  /** Frees the concurrency slot; once, when the response has closed. */
  release(): void;
  /** The request's tokens, as `piapi_tokens_total` counts them (input + cache read + cache write + output). */
  used(tokens: number): void;
}

/** The admission of a user without limits: nothing to count, nothing to wait for. */
export const UNLIMITED: Admission = Object.freeze({ release: () => undefined, used: () => undefined });

/** Where a request's counters live, and what to do when they cannot be reached. */
export interface CounterStore {
  counters: LimitCounters;
  onError: 'allow' | 'deny';
}

export interface UserLimiterOptions {
  /** A refused request, for `piapi_rate_limited_total`. */
  refused(user: string, limit: LimitName): void;
  now?: () => number;
}

/** Retry-after for a refusal by `concurrentRequests`: slots free when requests end, which nobody knows in advance. */
const SLOT_RETRY_S = 1;

/**
 * Decides whether a user's request may start, from the counters of its store:
 * - `requestsPerMinute` counts the request itself (atomically: of a burst across processes,
 *   exactly the limit are admitted);
 * - `tokensPerMinute` and `tokensPerDay` admit while the user is under the limit; the request
 *   that crosses it completes, later ones wait for the window;
 * - `concurrentRequests` takes a slot for the life of the request.
 * All checks of a request run at once. A refusal is a 429 naming the limit, with the whole
 * seconds until a request would be admitted.
 */
export class UserLimiter {
  private readonly now: () => number;

  constructor(private readonly options: UserLimiterOptions) {
    this.now = options.now ?? Date.now;
  }

  admit(user: User, store: CounterStore): Admission | Promise<Admission> {
    const limits = user.limits;
    if (!hasLimits(limits)) return UNLIMITED;
    const disabledBy = LIMIT_NAMES.find((name) => limits[name] === 0);
    if (disabledBy) throw this.refusal(user, disabledBy, 0, this.windowSeconds(disabledBy, undefined));
    return this.check(user, limits, store);
  }

  private async check(user: User, limits: Limits, store: CounterStore): Promise<Admission> {
    const now = this.now();
    const countsTokens = limits.tokensPerMinute !== undefined || limits.tokensPerDay !== undefined;
    let counts: Counts;
    try {
      counts = await store.counters.check(user.name, {
        requests: limits.requestsPerMinute !== undefined,
        tokensMinute: limits.tokensPerMinute !== undefined,
        tokensDay: limits.tokensPerDay === undefined ? undefined : utcDay(now),
        slots: limits.concurrentRequests,
      });
    } catch (err) {
      if (!(err instanceof StateStoreUnavailableError)) throw err;
      if (store.onError === 'deny') {
        throw new GatewayError(ErrorCode.Unavailable, 'Usage limits cannot be checked right now (state store unavailable); try again shortly', undefined, SLOT_RETRY_S);
      }
      // Served unchecked; its tokens are still counted (kept until Redis is back).
      return new CountedAdmission(store.counters, user.name, undefined, countsTokens, this.now);
    }
    const exceeded = this.exceeded(limits, counts, now);
    if (exceeded) {
      counts.lease?.release();
      throw this.refusal(user, exceeded.limit, limits[exceeded.limit] as number, exceeded.retryAfterS);
    }
    return new CountedAdmission(store.counters, user.name, counts.lease, countsTokens, this.now);
  }

  /** The limit the counts break whose window frees last (a request must wait for all of them). */
  private exceeded(limits: Limits, counts: Counts, now: number): { limit: LimitName; retryAfterS: number } | undefined {
    let worst: { limit: LimitName; retryAfterS: number } | undefined;
    const consider = (limit: LimitName, broken: boolean, msLeft: number | undefined) => {
      if (!broken) return;
      const retryAfterS = this.windowSeconds(limit, msLeft, now);
      if (!worst || retryAfterS > worst.retryAfterS) worst = { limit, retryAfterS };
    };
    // The request itself was counted: the limit-th request is still admitted.
    consider('requestsPerMinute', counts.requests !== undefined && counts.requests.count > (limits.requestsPerMinute as number), counts.requests?.msLeft);
    consider('tokensPerMinute', counts.tokensMinute !== undefined && counts.tokensMinute.count >= (limits.tokensPerMinute as number), counts.tokensMinute?.msLeft);
    consider('tokensPerDay', counts.tokensDay !== undefined && counts.tokensDay >= (limits.tokensPerDay as number), undefined);
    consider('concurrentRequests', limits.concurrentRequests !== undefined && !counts.lease, undefined);
    return worst;
  }

  /** Whole seconds until `limit` admits again: its window's end (`msLeft`), midnight UTC, or a slot's guess. */
  private windowSeconds(limit: LimitName, msLeft: number | undefined, now = this.now()): number {
    switch (limit) {
      case 'requestsPerMinute':
      case 'tokensPerMinute':
        return Math.max(1, Math.ceil((msLeft ?? 60_000) / 1000));
      case 'tokensPerDay':
        return Math.max(1, Math.ceil(msToUtcMidnight(now) / 1000));
      case 'concurrentRequests':
        return SLOT_RETRY_S;
    }
  }

  private refusal(user: User, limit: LimitName, value: number, retryAfterS: number): GatewayError {
    this.options.refused(user.name, limit);
    const message =
      value === 0
        ? `Rate limit: ${limit} is 0 for user "${user.name}", so every request is refused`
        : `Rate limit: ${limit} (${value}) reached for user "${user.name}"; retry in ${retryAfterS} s`;
    return new GatewayError(ErrorCode.RateLimited, message, undefined, retryAfterS);
  }
}

export function hasLimits(limits: Limits): boolean {
  for (const name of LIMIT_NAMES) if (limits[name] !== undefined) return true;
  return false;
}

class CountedAdmission implements Admission {
  private released = false;

  constructor(
    private readonly counters: LimitCounters,
    private readonly user: string,
    private readonly lease: Lease | undefined,
    private readonly countsTokens: boolean,
    private readonly now: () => number,
  ) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    this.lease?.release();
  }

  used(tokens: number): void {
    if (!this.countsTokens || !(tokens > 0)) return;
    // Never fails the request: the Redis store keeps what it cannot write (limit-counters.ts).
    this.counters.record(this.user, tokens, this.now()).catch(() => undefined);
  }
}
