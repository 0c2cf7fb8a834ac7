import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/gateway-harness.js';
import { TestRedis } from '../../test/support/redis-server.js';
import { DEFAULT_REDIS } from '../config/gateway-config.js';
import { RedisStateStore } from '../state/redis-state-store.js';
import { MemoryCooldownStore, RedisCooldownStore, parseRecord } from './cooldown-store.js';
import { FAILURE_MEMORY_MS, afterFailure } from './key-cooldown.js';

const SETTINGS = { cooldownMs: 60_000, authCooldownMs: 600_000 };
const fail = (freeAt?: number) => (now: number) => (prev: Parameters<typeof afterFailure>[0]) => afterFailure(prev, 'limited', freeAt, SETTINGS, now);

describe('MemoryCooldownStore', () => {
  it('keeps a record per provider and key', () => {
    const store = new MemoryCooldownStore();
    store.update('chatgpt', 'acct-1', fail()(1000), 1000);
    expect(store.read('chatgpt', ['acct-1', 'acct-2'], 1000)).toEqual([{ until: 61_000, failures: 1 }, undefined]);
    expect(store.read('claude', ['acct-1'], 1000)).toEqual([undefined]);
  });

  it('gives update the current record, so failures add up', () => {
    const store = new MemoryCooldownStore();
    store.update('p', 'k', fail()(0), 0);
    expect(store.update('p', 'k', fail()(60_000), 60_000)).toEqual({ until: 180_000, failures: 2 });
  });

  it('forgets a record 30 minutes after its cooldown', () => {
    const store = new MemoryCooldownStore();
    store.update('p', 'k', fail()(0), 0);
    expect(store.read('p', ['k'], 60_000 + FAILURE_MEMORY_MS - 1)[0]).toBeDefined();
    expect(store.read('p', ['k'], 60_000 + FAILURE_MEMORY_MS)[0]).toBeUndefined();
  });

  it('clears a record', () => {
    const store = new MemoryCooldownStore();
    store.update('p', 'k', fail()(0), 0);
    store.clear('p', 'k');
    expect(store.read('p', ['k'], 1)).toEqual([undefined]);
  });
});

describe('parseRecord', () => {
  it('reads "<until>:<failures>" and nothing else', () => {
    expect(parseRecord('1700000000000:3')).toEqual({ until: 1_700_000_000_000, failures: 3 });
    expect([parseRecord(null), parseRecord('x:1'), parseRecord('12')]).toEqual([undefined, undefined, undefined]);
  });
});

describe('RedisCooldownStore with a real redis-server', () => {
  let redis: TestRedis;
  const opened: RedisStateStore[] = [];

  beforeAll(async () => {
    redis = await TestRedis.start();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    redis.resume();
    await redis.restart();
  });

  /** One replica's view: its own Redis connection and its own memory. */
  async function replica(commandTimeoutMs = 100): Promise<RedisCooldownStore> {
    const state = new RedisStateStore({ ...DEFAULT_REDIS, url: redis.url, keyPrefix: 'test:', commandTimeoutMs }, { availability: () => undefined, failure: () => undefined });
    opened.push(state);
    await eventually(() => state.available);
    return new RedisCooldownStore(state);
  }

  it("shows one replica's cooldown to another", async () => {
    const [a, b] = [await replica(), await replica()];
    const now = Date.now();
    await a.update('chatgpt', 'acct-1', fail(now + 2000)(now), now);

    expect(await b.read('chatgpt', ['acct-1', 'acct-2'], now)).toEqual([{ until: now + 2000, failures: 1 }, undefined]);
  });

  it('stores the record under the prefix, by key name, expiring once it is forgotten', async () => {
    const a = await replica();
    const now = Date.now();
    await a.update('chatgpt', 'acct-1', fail()(now), now);

    const plain = redis.client();
    expect(await plain.get('test:cooldown:chatgpt:acct-1')).toBe(`${now + 60_000}:1`);
    const ttl = await plain.pttl('test:cooldown:chatgpt:acct-1');
    expect(ttl).toBeGreaterThan(60_000 + FAILURE_MEMORY_MS - 5_000);
    expect(ttl).toBeLessThanOrEqual(60_000 + FAILURE_MEMORY_MS);
    plain.disconnect();
  });

  it("doubles on another replica's record: the failure count is shared", async () => {
    const [a, b] = [await replica(), await replica()];
    const now = Date.now();
    await a.update('p', 'k', fail()(now), now);
    const later = now + 60_000;
    expect(await b.update('p', 'k', fail()(later), later)).toEqual({ until: later + 120_000, failures: 2 });
  });

  it('clears the shared record on success', async () => {
    const [a, b] = [await replica(), await replica()];
    const now = Date.now();
    await a.update('p', 'k', fail()(now), now);
    await b.clear('p', 'k');
    expect(await a.read('p', ['k'], now + 60_000)).toEqual([undefined]);
  });

  it('keeps cooldowns in memory while Redis is down, and hands them to Redis once it is back', async () => {
    const a = await replica();
    await redis.kill();
    const now = Date.now();
    await a.update('p', 'k', fail()(now), now);
    expect(await a.read('p', ['k'], now)).toEqual([{ until: now + 60_000, failures: 1 }]);

    await redis.restart();
    const state = opened[0];
    await eventually(() => state.available, 5_000);
    expect(await a.read('p', ['k'], now)).toEqual([{ until: now + 60_000, failures: 1 }]);
    const b = await replica();
    await eventually(async () => (await b.read('p', ['k'], now))[0]?.until === now + 60_000);
  });

  it('remembers what it last read from Redis for while Redis is down', async () => {
    const [a, b] = [await replica(), await replica()];
    const now = Date.now();
    await a.update('p', 'k', fail()(now), now);
    await b.read('p', ['k'], now);
    await redis.kill();
    expect(await b.read('p', ['k'], now)).toEqual([{ until: now + 60_000, failures: 1 }]);
  });

  it('answers from memory within about commandTimeoutMs when Redis stalls', async () => {
    const a = await replica(200);
    const now = Date.now();
    await a.update('p', 'k', fail()(now), now);
    redis.pause();
    const started = performance.now();
    const records = await a.read('p', ['k'], now);
    const waited = performance.now() - started;

    expect(records).toEqual([{ until: now + 60_000, failures: 1 }]);
    // Generous bound: the point is that it does not hang.
    expect(waited).toBeLessThan(2_000);
  });
});
