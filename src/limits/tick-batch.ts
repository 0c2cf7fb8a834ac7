interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/** Batches due at the end of this turn: flushed together, so their Redis calls leave in one write (auto-pipelining). */
const due = new Set<{ flush(): void }>();

function flushDue(): void {
  const batches = [...due];
  due.clear();
  for (const batch of batches) batch.flush();
}

/**
 * Collects what is added during one event-loop turn and hands it to `run` as one batch at its
 * end (setImmediate: after the turn's I/O callbacks, so every request parsed in it is in). One
 * Redis call for a turn's requests instead of one each: fewer commands, fewer socket writes.
 * `run` answers item by item, in order; when it throws, every item of the batch gets the error.
 */
export class TickBatch<T, R> {
  private pending: Pending<T, R>[] = [];

  constructor(
    private readonly run: (items: readonly T[]) => Promise<readonly R[]>,
    private readonly maxItems = 1_000,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (due.size === 0) setImmediate(flushDue);
      due.add(this);
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxItems) this.flush();
    });
  }

  flush(): void {
    due.delete(this);
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.run(batch.map((p) => p.item)).then(
      (results) => batch.forEach((p, i) => p.resolve(results[i])),
      (err: unknown) => batch.forEach((p) => p.reject(err)),
    );
  }
}
