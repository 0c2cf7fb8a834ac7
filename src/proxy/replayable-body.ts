import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import { canReplay } from '../pools/replay-decision.js';

/**
 * A request body that streams to the first upstream as it arrives and is kept (the chunks
 * themselves, no copy) while it is at most `replayLimit` bytes, so a key pool can send it again
 * to the next key. The client's request is its only reader: the first attempt gets a stream fed
 * from it with backpressure; once that attempt is over the rest is still read and kept, and a
 * later attempt gets the whole body. Past `maxBodyBytes` the upload fails with a 413, as the
 * forwarder's own limit does.
 */
export class ReplayableBody {
  private chunks: Buffer[] = [];
  private received = 0;
  private ended = false;
  private overflowed = false;
  private failed = false;
  /** The body of the upload went past maxBodyBytes. */
  tooLarge = false;
  private live: Readable | undefined;
  private reading = false;
  /** Waiting for the rest of the body: the current attempt's backpressure no longer holds the client back. */
  private settling = false;
  private waiters: (() => void)[] = [];
  private whole: Buffer | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly replayLimit: number,
    private readonly maxBodyBytes: number,
  ) {}

  /** Bytes of body received from the client. */
  get bytes(): number {
    return this.received;
  }

  /** The body as it arrives, for the first attempt. */
  stream(): Readable {
    const live = new Readable({ read: () => this.req.resume() });
    this.live = live;
    // undici destroys the body of a request it gave up on: the rest is still read and kept.
    live.on('close', () => {
      if (this.live === live) this.detach();
    });
    this.read();
    return live;
  }

  /** The whole body, for a later attempt; only once {@link settled} said it can be sent again. */
  replay(): Buffer {
    return (this.whole ??= Buffer.concat(this.chunks, this.received));
  }

  /**
   * Resolves once the body is whole or known not to be kept: true when it can be sent again.
   * Meanwhile the body still goes to the current attempt (whose answer may yet go to the
   * client), but an upstream that answered without reading it no longer holds the client back:
   * it is read into the copy, at most `replayLimit` bytes of it.
   */
  settled(): Promise<boolean> {
    this.read();
    if (this.done) return Promise.resolve(this.replayable);
    this.settling = true;
    this.req.resume();
    return new Promise((resolve) => this.waiters.push(() => resolve(this.replayable)));
  }

  private get done(): boolean {
    return this.ended || this.overflowed || this.failed;
  }

  private get replayable(): boolean {
    return canReplay('copy', { ended: this.ended, overflowed: this.overflowed, failed: this.failed });
  }

  private read(): void {
    if (this.reading) return;
    this.reading = true;
    const req = this.req;
    req.on('data', (chunk: Buffer) => this.onData(chunk));
    req.on('end', () => {
      this.ended = true;
      this.live?.push(null);
      this.settle();
    });
    req.on('error', () => this.fail());
    req.on('aborted', () => this.fail());
    if (req.readableEnded) {
      this.ended = true;
      this.settle();
    }
  }

  private onData(chunk: Buffer): void {
    if (this.tooLarge) return;
    this.received += chunk.length;
    if (this.received > this.maxBodyBytes) {
      this.tooLarge = true;
      this.chunks = [];
      this.live?.destroy(new GatewayError(ErrorCode.PayloadTooLarge, `Request body exceeds the limit of ${this.maxBodyBytes} bytes`));
      this.fail();
      return;
    }
    if (!this.overflowed) {
      if (this.received > this.replayLimit) {
        this.overflowed = true;
        this.chunks = [];
        this.settle();
      } else {
        this.chunks.push(chunk);
      }
    }
    if (this.live && !this.live.push(chunk) && !this.settling) this.req.pause();
  }

  /** The current attempt stops reading: the client's body keeps flowing (into the copy). */
  private detach(): void {
    const live = this.live;
    this.live = undefined;
    if (live && !live.destroyed) live.destroy();
    this.req.resume();
  }

  private fail(): void {
    this.failed = true;
    this.settle();
  }

  private settle(): void {
    this.settling = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}
