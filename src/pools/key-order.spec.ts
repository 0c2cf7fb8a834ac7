import { describe, expect, it } from 'vitest';
import { keyOrder, rendezvousWeight } from './key-order.js';

const KEYS = ['acct-1', 'acct-2', 'api'];

describe('keyOrder: round-robin', () => {
  it('starts each request one key further and tries the others after it', () => {
    expect([0, 1, 2, 3].map((turn) => keyOrder(KEYS, 'round-robin', 'Alice', turn))).toEqual([
      [0, 1, 2],
      [1, 2, 0],
      [2, 0, 1],
      [0, 1, 2],
    ]);
  });

  it('ignores the user', () => {
    expect(keyOrder(KEYS, 'round-robin', 'Alice', 4)).toEqual(keyOrder(KEYS, 'round-robin', 'Bob', 4));
  });
});

describe('keyOrder: fill-first', () => {
  it('always tries the keys in list order', () => {
    expect(keyOrder(KEYS, 'fill-first', 'Alice', 7)).toEqual([0, 1, 2]);
  });
});

describe('keyOrder: sticky', () => {
  it('gives a user the same order on every request', () => {
    const first = keyOrder(KEYS, 'sticky', 'Alice', 0);
    for (let turn = 1; turn < 20; turn++) expect(keyOrder(KEYS, 'sticky', 'Alice', turn)).toEqual(first);
  });

  it('lists every key once', () => {
    expect([...keyOrder(KEYS, 'sticky', 'Alice', 0)].sort()).toEqual([0, 1, 2]);
  });

  it('spreads users evenly over the keys', () => {
    const counts = [0, 0, 0];
    for (let u = 0; u < 3000; u++) counts[keyOrder(KEYS, 'sticky', `user-${u}@example.com`, 0)[0]]++;
    for (const count of counts) expect(count).toBeGreaterThan(850);
  });

  it("moves only the users of a key that is gone, each to its own next choice", () => {
    const users = Array.from({ length: 300 }, (_, u) => `dev-${u}`);
    const withAll = users.map((u) => KEYS[keyOrder(KEYS, 'sticky', u, 0)[0]]);
    const without = ['acct-1', 'api'];
    const withoutSecond = users.map((u) => without[keyOrder(without, 'sticky', u, 0)[0]]);
    users.forEach((_, i) => {
      if (withAll[i] !== 'acct-2') expect(withoutSecond[i]).toBe(withAll[i]);
    });
    // Those who were on acct-2 went to both of the others, not all to one.
    const moved = new Set(withoutSecond.filter((_, i) => withAll[i] === 'acct-2'));
    expect(moved).toEqual(new Set(without));
  });

  it('spreads the users of one key over the others when it cools down (their second choices)', () => {
    const seconds = new Set<number>();
    for (let u = 0; u < 200; u++) {
      const order = keyOrder(KEYS, 'sticky', `dev-${u}`, 0);
      if (order[0] === 0) seconds.add(order[1]);
    }
    expect(seconds).toEqual(new Set([1, 2]));
  });
});

describe('rendezvousWeight', () => {
  it('is an unsigned 32-bit number that depends on both names', () => {
    const w = rendezvousWeight('Alice', 'acct-1');
    expect(Number.isInteger(w) && w >= 0 && w < 2 ** 32).toBe(true);
    expect(rendezvousWeight('Alice', 'acct-2')).not.toBe(w);
    expect(rendezvousWeight('Bob', 'acct-1')).not.toBe(w);
  });

  it('keeps the two names apart', () => {
    expect(rendezvousWeight('ab', 'c')).not.toBe(rendezvousWeight('a', 'bc'));
  });
});
