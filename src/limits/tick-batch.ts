interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/** Batches due at the end of this turn: flushed together, so their Redis calls leave in one write (auto-pipelining). */
const due = new Set<{ flush(): void }>();
/** Lazy batches with items waiting: they go along with the next due flush, or on their own timer. */
const lazy = new Set<{ flush(): void }>();

function flushDue(): void {
  // Lazy ones first: a slot released before an admission is free for it (Redis runs them in order).
  const batches = [...lazy, ...due];
  due.clear();
  lazy.clear();
  for (const batch of batches) batch.flush();
}

/**
 * Collects what is added during one event-loop turn and hands it to `run` as one batch at its
 * end (setImmediate: after the turn's I/O callbacks, so every request parsed in it is in). One
 * Redis call for a turn's requests instead of one each: fewer commands, fewer socket writes.
 * `run` answers item by item, in order; when it throws, every item of the batch gets the error.
 *
 * A lazy batch (`lazyMs`, for work nobody waits on) rides along with the next eager batch's
 * flush, or goes after `lazyMs` when none comes: under load, one write per turn carries both.
 */
export class TickBatch<T, R> {
  private pending: Pending<T, R>[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly run: (items: readonly T[]) => Promise<readonly R[]>,
    private readonly maxItems = 1_000,
    private readonly lazyMs = 0,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.lazyMs > 0) {
        lazy.add(this);
        this.timer ??= setTimeout(() => this.flush(), this.lazyMs);
      } else {
        if (due.size === 0) setImmediate(flushDue);
        due.add(this);
      }
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxItems) this.flush();
    });
  }

  flush(): void {
    due.delete(this);
    lazy.delete(this);
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.run(batch.map((p) => p.item)).then(
      (results) => batch.forEach((p, i) => p.resolve(results[i])),
      (err: unknown) => batch.forEach((p) => p.reject(err)),
    );
  }
}
