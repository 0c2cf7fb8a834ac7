/** Tokens one user used on one UTC day while the state store could not count them. */
export interface OutageEntry {
  user: string;
  day: string;
  tokens: number;
  /** Of `tokens`, those used since `recentSince`: what still belongs to the current minute. */
  recentTokens: number;
  recentSince: number;
}

/**
 * Tokens used while Redis was unreachable, kept in memory until they can be added to the shared
 * counters. Bounded: at most `maxEntries` user-days; tokens of further ones are dropped (and
 * counted in `dropped`).
 */
export class OutageLedger {
  private entries = new Map<string, OutageEntry>();
  dropped = 0;

  constructor(
    private readonly maxEntries = 10_000,
    private readonly minuteMs = 60_000,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  add(user: string, day: string, tokens: number, at: number): void {
    const key = entryKey(user, day);
    let entry = this.entries.get(key);
    if (!entry) {
      if (this.entries.size >= this.maxEntries) {
        this.dropped += tokens;
        return;
      }
      entry = { user, day, tokens: 0, recentTokens: 0, recentSince: at };
      this.entries.set(key, entry);
    }
    entry.tokens += tokens;
    if (at - entry.recentSince >= this.minuteMs) {
      entry.recentTokens = 0;
      entry.recentSince = at;
    }
    entry.recentTokens += tokens;
  }

  /** Takes every entry out; give back with {@link restore} what could not be written. */
  drain(): OutageEntry[] {
    const all = [...this.entries.values()];
    this.entries = new Map();
    return all;
  }

  restore(entries: readonly OutageEntry[]): void {
    for (const e of entries) {
      const key = entryKey(e.user, e.day);
      const current = this.entries.get(key);
      if (!current) {
        if (this.entries.size >= this.maxEntries) this.dropped += e.tokens;
        else this.entries.set(key, { ...e });
        continue;
      }
      // `current` was added since the drain, so it is the newer one.
      current.tokens += e.tokens;
      if (current.recentSince - e.recentSince < this.minuteMs) {
        current.recentTokens += e.recentTokens;
        current.recentSince = e.recentSince;
      }
    }
  }

  /** Tokens of `entry` that fall into the minute before `now`. */
  recentAt(entry: OutageEntry, now: number): number {
    return now - entry.recentSince < this.minuteMs ? entry.recentTokens : 0;
  }
}

function entryKey(user: string, day: string): string {
  return `${user}\u0000${day}`;
}
