import { describe, expect, it } from 'vitest';
import { KeyAttempts } from './key-attempts.js';

const NOW = 1_000_000;

describe('KeyAttempts', () => {
  it('tries every key once, in the given order', () => {
    const attempts = new KeyAttempts([2, 0, 1], [undefined, undefined, undefined]);
    expect([attempts.next(NOW), attempts.next(NOW), attempts.next(NOW), attempts.next(NOW)]).toEqual([2, 0, 1, undefined]);
  });

  it('skips keys cooling down', () => {
    const attempts = new KeyAttempts([0, 1, 2], [{ until: NOW + 1, failures: 1 }, undefined, { until: NOW - 1, failures: 1 }]);
    expect([attempts.next(NOW), attempts.next(NOW), attempts.next(NOW)]).toEqual([1, 2, undefined]);
  });

  it('skips a key this request found failing', () => {
    const attempts = new KeyAttempts([0, 1], [undefined, undefined]);
    attempts.next(NOW);
    attempts.update(1, { until: NOW + 1000, failures: 1 });
    expect(attempts.hasNext(NOW)).toBe(false);
  });

  it('says when the soonest key is free again', () => {
    const attempts = new KeyAttempts([0, 1], [{ until: NOW + 5000, failures: 1 }, { until: NOW + 2000, failures: 3 }]);
    expect(attempts.next(NOW)).toBeUndefined();
    expect(attempts.soonestFreeAt(NOW)).toBe(NOW + 2000);
  });

  it('says now for a pool with a key not cooling', () => {
    expect(new KeyAttempts([0, 1], [{ until: NOW + 5000, failures: 1 }, undefined]).soonestFreeAt(NOW)).toBe(NOW);
  });
});
