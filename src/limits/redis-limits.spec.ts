import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/gateway-harness.js';
import { TestRedis } from '../../test/support/redis-server.js';
import { DEFAULT_REDIS, type Limits, type User } from '../config/gateway-config.js';
import { GatewayError } from '../errors/gateway-error.js';
import { RedisStateStore } from '../state/redis-state-store.js';
import { LimitCounters } from './limit-counters.js';
import { UserLimiter, type Admission, type CounterStore } from './user-limiter.js';

/**
 * The limiter over Redis as two gateway processes use it: two connections (two stores), each
 * with its own counters object, on one server.
 */
let redis: TestRedis;
const open: RedisStateStore[] = [];

beforeAll(async () => {
  redis = await TestRedis.start();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  await redis.restart();
});

async function replica(onError: 'allow' | 'deny' = 'allow', leaseMs?: number): Promise<{ store: RedisStateStore; counters: CounterStore }> {
  const store = new RedisStateStore({ ...DEFAULT_REDIS, url: redis.url, commandTimeoutMs: 500 }, { availability: () => undefined, failure: () => undefined });
  open.push(store);
  await eventually(() => store.available);
  return { store, counters: { counters: LimitCounters.redis(store, leaseMs), onError } };
}

function user(name: string, limits: Limits): User {
  return { name, limits } as unknown as User;
}

const limiter = new UserLimiter({ refused: () => undefined });

async function outcome(admit: () => Admission | Promise<Admission>): Promise<'admitted' | number> {
  try {
    await admit();
    return 'admitted';
  } catch (err) {
    if (err instanceof GatewayError) return err.status;
    throw err;
  }
}

describe('limits shared through Redis', () => {
  it('admits exactly requestsPerMinute of a burst spread over two processes', async () => {
    const [a, b] = [await replica(), await replica()];
    const u = user('burst', { requestsPerMinute: 10 });

    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => outcome(() => limiter.admit(u, (i % 2 ? a : b).counters))));

    expect(results.filter((r) => r === 'admitted')).toHaveLength(10);
    expect(results.filter((r) => r === 429)).toHaveLength(20);
  });

  it('keeps concurrentRequests across processes, and frees a slot when its request releases it', async () => {
    const [a, b] = [await replica(), await replica()];
    const u = user('streams', { concurrentRequests: 2 });

    const first = await Promise.all(
      Array.from({ length: 6 }, (_, i) => Promise.resolve(limiter.admit(u, (i % 2 ? a : b).counters)).then((x): Admission | undefined => x, () => undefined)),
    );
    const held = first.filter((x) => x !== undefined);
    expect(held).toHaveLength(2);

    held[0].release();
    await eventually(async () => (await outcome(() => limiter.admit(u, b.counters))) === 'admitted');
    expect(await outcome(() => limiter.admit(u, a.counters))).toBe(429);
  });

  it('frees the slots of a process that died once their leases expire', async () => {
    const dying = await replica('allow', 600);
    const u = user('orphan', { concurrentRequests: 1 });
    await limiter.admit(u, dying.counters);
    // The process dies: no release, no more lease refreshes.
    dying.store.client.disconnect();
    const survivor = await replica('allow', 600);

    expect(await outcome(() => limiter.admit(u, survivor.counters))).toBe(429);
    await eventually(async () => (await outcome(() => limiter.admit(u, survivor.counters))) === 'admitted', 5_000);
  });

  it('keeps a long request its slot past the lease time, by refreshing it', async () => {
    const a = await replica('allow', 600);
    const u = user('long-stream', { concurrentRequests: 1 });
    const admission = await limiter.admit(u, a.counters);

    await new Promise((r) => setTimeout(r, 1_500));

    expect(await outcome(() => limiter.admit(u, a.counters))).toBe(429);
    admission.release();
  });

  // redis-semaphore's own refresh timer rejects unhandled when Redis is gone, which would end
  // the gateway; vitest fails a run on any unhandled rejection.
  it('keeps refreshing held leases without an unhandled error while Redis is gone and closed', async () => {
    const a = await replica('allow', 300);
    const admission = await limiter.admit(user('held-through-outage', { concurrentRequests: 5 }), a.counters);
    await redis.kill();
    await new Promise((r) => setTimeout(r, 400));
    await a.store.close();
    await new Promise((r) => setTimeout(r, 400));
    admission.release();
  });

  it('serves unchecked under onError allow while Redis is down, and 503 under deny', async () => {
    const allow = await replica('allow');
    const deny = await replica('deny');
    const u = user('outage', { requestsPerMinute: 1 });
    await limiter.admit(u, allow.counters);
    await redis.kill();
    await eventually(() => !allow.store.available && !deny.store.available);

    expect(await outcome(() => limiter.admit(u, allow.counters))).toBe('admitted');
    expect(await outcome(() => limiter.admit(u, deny.counters))).toBe(503);
  });

  it('adds the tokens used while Redis was down to the counters once it is back', async () => {
    const a = await replica();
    const u = user('outage-tokens', { tokensPerDay: 1000 });
    const admission = await limiter.admit(u, a.counters);
    await redis.kill();
    await eventually(() => !a.store.available);
    admission.used(700);
    (await limiter.admit(u, a.counters)).used(400);
    await eventually(() => a.counters.counters.ledger?.size === 1);

    await redis.restart();
    await eventually(() => a.counters.counters.ledger?.size === 0, 5_000);

    // 1100 tokens today, though Redis (restarted empty) saw none of them being used.
    const b = await replica();
    expect(await outcome(() => limiter.admit(u, b.counters))).toBe(429);
  });
});
