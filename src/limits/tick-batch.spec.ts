import { describe, expect, it } from 'vitest';
import { TickBatch } from './tick-batch.js';

function recording(): { batch: TickBatch<number, number>; calls: number[][] } {
  const calls: number[][] = [];
  const batch = new TickBatch<number, number>((items) => {
    calls.push([...items]);
    return Promise.resolve(items.map((n) => n * 10));
  }, 3);
  return { batch, calls };
}

describe('TickBatch', () => {
  it('hands everything added in one turn to one call, and answers each item with its own result', async () => {
    const { batch, calls } = recording();
    const results = await Promise.all([batch.add(1), batch.add(2)]);
    expect(calls).toEqual([[1, 2]]);
    expect(results).toEqual([10, 20]);
  });

  it('makes a new call for a later turn', async () => {
    const { batch, calls } = recording();
    await batch.add(1);
    await batch.add(2);
    expect(calls).toEqual([[1], [2]]);
  });

  it('splits a turn at maxItems', async () => {
    const { batch, calls } = recording();
    await Promise.all([1, 2, 3, 4].map((n) => batch.add(n)));
    expect(calls).toEqual([[1, 2, 3], [4]]);
  });

  it('flushes batches of one turn together, so their calls leave in the same callback', async () => {
    const order: string[] = [];
    const a = new TickBatch<string, void>((items) => {
      order.push(`a:${items.join()}`);
      return Promise.resolve([]);
    });
    const b = new TickBatch<string, void>((items) => {
      order.push(`b:${items.join()}`);
      return Promise.resolve([]);
    });
    let sameTick = false;
    const done = Promise.all([a.add('1'), b.add('2')]);
    // Both ran before any later macrotask.
    const later = new Promise<void>((resolve) => setImmediate(() => resolve(void (sameTick = order.length === 2))));
    await Promise.all([done, later]);
    expect(order).toEqual(['a:1', 'b:2']);
    expect(sameTick).toBe(true);
  });

  it('rejects every item of a failed call', async () => {
    const batch = new TickBatch<number, number>(() => Promise.reject(new Error('redis away')));
    const results = await Promise.allSettled([batch.add(1), batch.add(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('sends a lazy batch along with the next eager flush, or on its own after lazyMs', async () => {
    const calls: string[] = [];
    const eager = new TickBatch<string, void>((items) => (calls.push(`eager:${items.join()}`), Promise.resolve([])));
    const lazy = new TickBatch<string, void>((items) => (calls.push(`lazy:${items.join()}`), Promise.resolve([])), 1_000, 50);

    const alone = Date.now();
    await lazy.add('a');
    expect(Date.now() - alone).toBeGreaterThanOrEqual(45);
    expect(calls).toEqual(['lazy:a']);

    const slow = new TickBatch<string, void>((items) => (calls.push(`slow:${items.join()}`), Promise.resolve([])), 1_000, 5_000);
    const started = Date.now();
    const riding = slow.add('b');
    await eager.add('x');
    await riding;
    // Long before its own 5 s timer.
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(calls).toEqual(['lazy:a', 'slow:b', 'eager:x']);
  });
});
