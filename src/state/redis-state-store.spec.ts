import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestRedis } from '../../test/support/redis-server.js';
import { eventually } from '../../test/support/gateway-harness.js';
import { DEFAULT_REDIS } from '../config/gateway-config.js';
import { RedisStateStore, StateStoreUnavailableError, type StateOperation } from './redis-state-store.js';

let redis: TestRedis;
let store: RedisStateStore | undefined;

beforeAll(async () => {
  redis = await TestRedis.start();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(async () => {
  await store?.close();
  store = undefined;
  redis.resume();
  await redis.restart();
});

interface Seen {
  changes: boolean[];
  failures: StateOperation[];
}

function open(commandTimeoutMs = 100): { store: RedisStateStore; seen: Seen } {
  const seen: Seen = { changes: [], failures: [] };
  store = new RedisStateStore(
    { ...DEFAULT_REDIS, url: redis.url, keyPrefix: 'test:', commandTimeoutMs },
    { availability: (up) => seen.changes.push(up), failure: (operation) => seen.failures.push(operation) },
  );
  return { store, seen };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; error?: unknown }> {
  const started = performance.now();
  try {
    await fn();
    return { ms: performance.now() - started };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

describe('RedisStateStore', () => {
  it('reports itself up once connected and keeps every key under its prefix', async () => {
    const { store, seen } = open();
    await eventually(() => store.available);

    await store.run('limit_check', (c) => c.set('k', 'v'));

    expect(seen.changes).toEqual([true]);
    const plain = redis.client();
    expect(await plain.get('test:k')).toBe('v');
    plain.disconnect();
  });

  it('fails operations at once while Redis is down, reports the outage once, and comes back by itself', async () => {
    const { store, seen } = open();
    await eventually(() => store.available);

    await redis.kill();
    const attempts = await Promise.all(Array.from({ length: 20 }, () => timed(() => store.run('limit_check', (c) => c.get('k')))));
    expect(attempts.every((a) => a.error instanceof StateStoreUnavailableError)).toBe(true);
    expect(seen.changes).toEqual([true, false]);

    await redis.restart();
    await eventually(() => store.available, 5_000);
    expect(seen.changes).toEqual([true, false, true]);
    await expect(store.run('limit_check', (c) => c.get('k'))).resolves.toBeNull();
  });

  it('gives up on a stalled Redis after commandTimeoutMs, then fails at once until a probe finds it back', async () => {
    // A long timeout, so that "waited for it" and "did not wait" are far apart on a busy machine.
    const { store, seen } = open(1_000);
    await eventually(() => store.available);

    redis.pause();
    const first = await timed(() => store.run('token_record', (c) => c.incr('n')));
    const next = await timed(() => store.run('limit_check', (c) => c.get('n')));

    expect(first.error).toBeInstanceOf(StateStoreUnavailableError);
    expect(first.ms).toBeGreaterThanOrEqual(990);
    expect(first.ms).toBeLessThan(1_900);
    // Known down: no second wait.
    expect(next.error).toBeInstanceOf(StateStoreUnavailableError);
    expect(next.ms).toBeLessThan(500);
    expect(seen.failures).toEqual(['token_record']);
    expect(seen.changes).toEqual([true, false]);

    redis.resume();
    await eventually(() => store.available, 5_000);
    expect(seen.changes).toEqual([true, false, true]);
  });

  it('reports a Redis that is down from the start as down, once', async () => {
    await redis.kill();
    const { store, seen } = open();
    await eventually(() => seen.changes.length > 0);
    await new Promise((r) => setTimeout(r, 500));

    expect(seen.changes).toEqual([false]);
    expect(store.available).toBe(false);
  });

  it('lets the first operations wait for the first connection (within commandTimeoutMs) instead of failing them', async () => {
    const { store: fresh } = open(1_000);
    // Issued in the same tick as the store was made: the connection is not up yet.
    await fresh.run('limit_check', (c) => c.set('first', '1'));
    expect(await fresh.run('limit_check', (c) => c.get('first'))).toBe('1');
  });
});
