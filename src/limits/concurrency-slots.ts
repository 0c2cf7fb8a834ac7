/** One in-flight request's place under a user's `concurrentRequests`; released once, when the response closes. */
export interface Lease {
  release(): void;
}

export interface ConcurrencySlots {
  /** A lease when fewer than `limit` of the user's requests are in flight, else undefined. */
  tryAcquire(user: string, limit: number): Promise<Lease | undefined>;
}

/** In-flight counts of this process only (no `state.redis`). */
export class MemorySlots implements ConcurrencySlots {
  private readonly held = new Map<string, number>();

  tryAcquire(user: string, limit: number): Promise<Lease | undefined> {
    const n = this.held.get(user) ?? 0;
    if (n >= limit) return Promise.resolve(undefined);
    this.held.set(user, n + 1);
    let released = false;
    return Promise.resolve({
      release: () => {
        if (released) return;
        released = true;
        const left = (this.held.get(user) ?? 1) - 1;
        if (left > 0) this.held.set(user, left);
        else this.held.delete(user);
      },
    });
  }

  /** For tests and the start log. */
  inFlight(user: string): number {
    return this.held.get(user) ?? 0;
  }
}
