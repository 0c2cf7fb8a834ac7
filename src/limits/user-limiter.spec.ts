import { describe, expect, it } from 'vitest';
import type { Limits, User } from '../config/gateway-config.js';
import { GatewayError } from '../errors/gateway-error.js';
import { LimitCounters } from './limit-counters.js';
import { UNLIMITED, UserLimiter, type Admission, type CounterStore } from './user-limiter.js';

let serial = 0;
/** A user of its own per test: the memory counters are keyed by user name. */
function user(limits: Limits): User {
  return { name: `user-${++serial}`, limits } as unknown as User;
}

function setup(now?: () => number): { limiter: UserLimiter; store: CounterStore; refused: string[] } {
  const refused: string[] = [];
  const limiter = new UserLimiter({ refused: (name, limit) => refused.push(`${name}:${limit}`), now });
  return { limiter, store: { counters: LimitCounters.memory(), onError: 'allow' }, refused };
}

/** The refusal of an admission, which may throw at once (a limit of 0) or reject. */
async function refusal(admit: () => Admission | Promise<Admission>): Promise<GatewayError> {
  try {
    await admit();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('the request was admitted');
}

describe('UserLimiter', () => {
  it('admits a user without limits at once, with nothing to count', () => {
    const { limiter, store } = setup();
    expect(limiter.admit(user({}), store)).toBe(UNLIMITED);
  });

  it('admits requestsPerMinute requests and refuses the next with a 429 naming the limit and a retry-after', async () => {
    const { limiter, store, refused } = setup();
    const u = user({ requestsPerMinute: 3 });
    for (let i = 0; i < 3; i++) await limiter.admit(u, store);

    const error = await refusal(() => limiter.admit(u, store));

    expect(error.status).toBe(429);
    expect(error.message).toContain('requestsPerMinute (3)');
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(refused).toEqual([`${u.name}:requestsPerMinute`]);
  });

  it('counts each user on its own', async () => {
    const { limiter, store } = setup();
    const [a, b] = [user({ requestsPerMinute: 1 }), user({ requestsPerMinute: 1 })];
    await limiter.admit(a, store);

    await expect(limiter.admit(b, store)).resolves.toBeDefined();
    await expect(refusal(() => limiter.admit(a, store))).resolves.toBeInstanceOf(GatewayError);
  });

  it('admits under tokensPerMinute, lets the crossing request finish, and refuses the ones after it', async () => {
    const { limiter, store } = setup();
    const u = user({ tokensPerMinute: 1000 });
    (await limiter.admit(u, store)).used(600);
    const crossing = await limiter.admit(u, store);
    crossing.used(600);
    await flushRecords();

    const error = await refusal(() => limiter.admit(u, store));

    expect(error.message).toContain('tokensPerMinute (1000)');
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('gives a tokensPerDay refusal the whole seconds until the next UTC midnight', async () => {
    const tenToMidnight = Date.UTC(2026, 11, 7, 23, 59, 50, 500);
    const { limiter, store } = setup(() => tenToMidnight);
    const u = user({ tokensPerDay: 10 });
    (await limiter.admit(u, store)).used(10);
    await flushRecords();

    const error = await refusal(() => limiter.admit(u, store));

    expect(error.message).toContain('tokensPerDay (10)');
    expect(error.retryAfterSeconds).toBe(10);
  });

  it('counts tokens of a day under that UTC day only', async () => {
    let now = Date.UTC(2026, 11, 7, 23, 59, 59);
    const { limiter, store } = setup(() => now);
    const u = user({ tokensPerDay: 10 });
    (await limiter.admit(u, store)).used(10);
    await flushRecords();
    now += 2000;

    await expect(limiter.admit(u, store)).resolves.toBeDefined();
  });

  it('holds concurrentRequests slots until the requests release them', async () => {
    const { limiter, store } = setup();
    const u = user({ concurrentRequests: 2 });
    const first = await limiter.admit(u, store);
    await limiter.admit(u, store);

    const error = await refusal(() => limiter.admit(u, store));
    expect(error.message).toContain('concurrentRequests (2)');
    expect(error.retryAfterSeconds).toBe(1);

    first.release();
    first.release(); // a second release frees nothing more
    await limiter.admit(u, store);
    await expect(refusal(() => limiter.admit(u, store))).resolves.toBeInstanceOf(GatewayError);
  });

  it('gives the slot back when another limit refuses the request', async () => {
    const { limiter, store } = setup();
    const u = user({ concurrentRequests: 1, requestsPerMinute: 1 });
    (await limiter.admit(u, store)).release();
    await refusal(() => limiter.admit(u, store));

    // The same user after a reload that dropped requestsPerMinute: its one slot must be free.
    const reloaded = { ...u, limits: { concurrentRequests: 1 } } as User;
    await expect(limiter.admit(reloaded, store)).resolves.toBeDefined();
  });

  it('names the limit whose window frees last when several refuse', async () => {
    const at = Date.UTC(2026, 11, 7, 12, 0, 0);
    const { limiter, store } = setup(() => at);
    const u = user({ requestsPerMinute: 1, tokensPerDay: 1 });
    (await limiter.admit(u, store)).used(1);
    await flushRecords();

    const error = await refusal(() => limiter.admit(u, store));

    expect(error.message).toContain('tokensPerDay');
    expect(error.retryAfterSeconds).toBe(12 * 3600);
  });

  it('refuses every request of a limit set to 0 without counting anything', async () => {
    const { limiter, store, refused } = setup();
    const u = user({ requestsPerMinute: 0 });

    const error = await refusal(() => limiter.admit(u, store));

    expect(error.status).toBe(429);
    expect(error.message).toContain('requestsPerMinute is 0');
    expect(refused).toEqual([`${u.name}:requestsPerMinute`]);
  });

  it('does not count tokens of a user without token limits', async () => {
    const { limiter, store } = setup();
    const u = user({ requestsPerMinute: 100 });
    (await limiter.admit(u, store)).used(1_000_000);
    await flushRecords();
    // Token limits added later (a reload) start from nothing.
    const later = { ...u, limits: { tokensPerMinute: 10 } } as User;
    await expect(limiter.admit(later, store)).resolves.toBeDefined();
  });
});

/** Token records are written in the background (never on the request's path). */
function flushRecords(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
