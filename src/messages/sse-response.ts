/**
 * The writable side of an SSE response: backpressure-aware writes, and keep-alive pings during
 * long silences (reasoning models may think for minutes before the first token).
 *
 * Frames written in the same turn of the event loop go out as one write: an upstream chunk
 * usually completes several events at once (a Responses stream sends ~25 small events per
 * answer), and one socket write per event cost more CPU than the rest of their handling. The
 * batch leaves on `setImmediate`, right after the event loop's I/O phase: every upstream chunk
 * read in that phase is in it, and nothing waits for a later phase or a timer.
 */
/** Where the frames go: the client's response itself (a ServerResponse). */
export interface SseTarget {
  write(chunk: string | Buffer): boolean;
  end(chunk?: string | Buffer): unknown;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  cork(): void;
  uncork(): void;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

export class SseResponse {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Frames queued since the last write; Buffers are pieces of frames encoded ahead (responses-sse.ts). */
  private pending: Array<string | Buffer> = [];
  private flushing = false;
  /** Set while the client is not taking data; writes wait for it. */
  private drained: Promise<void> | undefined;

  constructor(
    private readonly pingEveryMs: number,
    /** What to send when the stream has been silent for `pingEveryMs`. */
    private readonly ping: () => string,
    readonly stream: SseTarget,
  ) {
    this.stream.once('close', () => this.stop());
    this.timer = setTimeout(() => this.sendPing(), this.pingEveryMs);
    this.timer.unref();
  }

  get isClosed(): boolean {
    return this.closed || this.stream.destroyed;
  }

  /** Queues a frame; resolves at once unless the client is behind, then once it has caught up (or gone). */
  async write(frames: string | Buffer | readonly Buffer[]): Promise<void> {
    if (this.isClosed || frames.length === 0) return;
    this.timer?.refresh();
    this.queue(frames);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
    if (this.drained) await this.drained;
  }

  end(frames: string | Buffer | readonly Buffer[] = ''): void {
    this.stop();
    if (this.stream.destroyed || this.stream.writableEnded) return;
    this.queue(frames);
    this.send();
    this.stream.end();
  }

  private queue(frames: string | Buffer | readonly Buffer[]): void {
    if (typeof frames === 'string' || Buffer.isBuffer(frames)) {
      if (frames.length > 0) this.pending.push(frames);
    } else {
      for (const piece of frames) this.pending.push(piece);
    }
  }

  /**
   * Writes the pending frames in one socket write: corked, so pieces (a frame's echoed tools
   * and instructions, encoded once) go out as they are, without copying them into one buffer.
   */
  private send(): boolean {
    const pending = this.pending;
    this.pending = [];
    if (pending.length === 1) return this.stream.write(pending[0]);
    let written = true;
    this.stream.cork();
    let text = '';
    for (const piece of pending) {
      if (typeof piece === 'string') {
        text += piece;
        continue;
      }
      if (text !== '') written = this.stream.write(text) && written;
      text = '';
      written = this.stream.write(piece) && written;
    }
    if (text !== '') written = this.stream.write(text) && written;
    this.stream.uncork();
    return written;
  }

  private flush(): void {
    this.flushing = false;
    if (this.pending.length === 0 || this.stream.destroyed || this.stream.writableEnded) return;
    if (!this.send() && !this.drained) {
      this.drained = new Promise<void>((resolve) => {
        const done = (): void => {
          this.stream.off('drain', done);
          this.stream.off('close', done);
          this.drained = undefined;
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('close', done);
      });
    }
  }

  private sendPing(): void {
    if (this.isClosed) return;
    void this.write(this.ping());
  }

  private stop(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
