import { isCooling, type CooldownRecord } from './key-cooldown.js';

/**
 * The keys one request may still try: each key of the pool at most once, in the strategy's
 * order (key-order.ts), skipping those cooling down. Pure: the cooldown records are read once
 * for the request and updated with what its own attempts find.
 */
export class KeyAttempts {
  private readonly tried: boolean[];

  constructor(
    private readonly order: readonly number[],
    private readonly records: (CooldownRecord | undefined)[],
  ) {
    this.tried = records.map(() => false);
  }

  /** The next key to try (its index in the pool), or undefined when none is left. Marks it tried. */
  next(now: number): number | undefined {
    const index = this.peek(now);
    if (index !== undefined) this.tried[index] = true;
    return index;
  }

  /** Whether another key is left to try after the current one. */
  hasNext(now: number): boolean {
    return this.peek(now) !== undefined;
  }

  /** What this request learnt about a key (its own failure, written to the store as well). */
  update(index: number, record: CooldownRecord | undefined): void {
    this.records[index] = record;
  }

  record(index: number): CooldownRecord | undefined {
    return this.records[index];
  }

  /** Whether any key was tried. */
  get started(): boolean {
    return this.tried.some(Boolean);
  }

  /** The earliest end of cooldown over the pool's keys (for `retry-after` when all are cooling). */
  soonestFreeAt(now: number): number {
    let soonest = Infinity;
    for (const record of this.records) soonest = Math.min(soonest, isCooling(record, now) ? (record as CooldownRecord).until : now);
    return soonest === Infinity ? now : soonest;
  }

  private peek(now: number): number | undefined {
    for (const index of this.order) if (!this.tried[index] && !isCooling(this.records[index], now)) return index;
    return undefined;
  }
}
