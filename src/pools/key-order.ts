/**
 * The order in which a request tries a pool's keys, per strategy:
 * - `round-robin`: the pool's list rotated by one per request, so load spreads evenly;
 * - `sticky`: rendezvous (highest random weight) hashing of the user's name over the keys: each
 *   user has a key of its own while it is available (prompt caches and account affinity
 *   survive), users spread over the keys, and a key cooling down moves only its own users, each
 *   to its own next choice;
 * - `fill-first`: list order; later keys are spares.
 * The caller skips keys that are cooling down or already tried.
 */

export const KEY_POOL_STRATEGIES = ['round-robin', 'sticky', 'fill-first'] as const;
export type KeyPoolStrategy = (typeof KEY_POOL_STRATEGIES)[number];

/** Indexes of `keyNames` in the order to try them. `turn` is the pool's request counter (round-robin). */
export function keyOrder(keyNames: readonly string[], strategy: KeyPoolStrategy, user: string, turn: number): number[] {
  const n = keyNames.length;
  switch (strategy) {
    case 'round-robin': {
      const start = ((turn % n) + n) % n;
      return Array.from({ length: n }, (_, i) => (start + i) % n);
    }
    case 'sticky': {
      const weights = keyNames.map((name) => rendezvousWeight(user, name));
      return Array.from({ length: n }, (_, i) => i).sort((a, b) => weights[b] - weights[a] || a - b);
    }
    case 'fill-first':
      return Array.from({ length: n }, (_, i) => i);
  }
}

/** A well-mixed 32-bit weight of (user, key): FNV-1a over both names, then murmur3's finalizer. */
export function rendezvousWeight(user: string, key: string): number {
  let h = 0x811c9dc5;
  const text = `${user}\u0000${key}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
