import { PassThrough } from 'node:stream';

/**
 * The writable side of an SSE response: backpressure-aware writes, and keep-alive pings during
 * long silences (reasoning models may think for minutes before the first token).
 */
export class SseResponse {
  readonly stream = new PassThrough();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly pingEveryMs: number,
    /** What to send when the stream has been silent for `pingEveryMs`. */
    private readonly ping: () => string,
  ) {
    this.stream.once('close', () => this.stop());
    this.arm();
  }

  get isClosed(): boolean {
    return this.closed || this.stream.destroyed;
  }

  /** Resolves once the client has taken the data (or gone away). */
  async write(text: string): Promise<void> {
    if (this.isClosed || text === '') return;
    this.arm();
    if (!this.stream.write(text)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off('drain', done);
          this.stream.off('close', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('close', done);
      });
    }
  }

  end(text = ''): void {
    this.stop();
    if (this.stream.destroyed || this.stream.writableEnded) return;
    this.stream.end(text);
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.isClosed) return;
      this.stream.write(this.ping());
      this.arm();
    }, this.pingEveryMs);
    this.timer.unref();
  }

  private stop(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
