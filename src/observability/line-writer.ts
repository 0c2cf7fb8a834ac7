import { write, writeSync } from 'node:fs';

const FLUSH_BYTES = 16 * 1024;
const CHUNK_BYTES = 64 * 1024;
const EAGAIN_RETRY_MS = 10;
const SLEEP = new Int32Array(new SharedArrayBuffer(4));

interface Filled {
  chunk: Buffer;
  start: number;
  end: number;
}

/**
 * Log lines to a file descriptor in few, large writes: each line is UTF-8 encoded straight into a
 * reusable 64 KiB chunk (no Buffer or string per line is kept), and a chunk holding 16 KiB goes
 * out with one asynchronous `fs.write` while the next one fills. `flush()` (on a timer) writes a
 * partly filled chunk; `flushSync()` (at exit) writes whatever is left.
 *
 * It replaces sonic-boom for the one-process stdout: in its utf8 mode sonic-boom measured the byte
 * length of the whole pending string on every write, in its buffer mode it wants a Buffer per
 * line and concatenates them per write (bench/RESULTS.md has what each cost per request).
 *
 * A destination that is not ready (EAGAIN: a full non-blocking pipe) is retried after 10 ms,
 * with lines piling up in memory meanwhile, as sonic-boom does; a broken one (EPIPE, EBADF, …)
 * ends logging: the lines are dropped, and the process keeps serving.
 */
export class LineWriter {
  private chunk: Buffer = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  private used = 0;
  /** Filled chunks in write order; the first is being written when `writing`. */
  private readonly queue: Filled[] = [];
  private readonly spare: Buffer[] = [];
  private writing = false;
  /** The first queued chunk waits for a retry timer (EAGAIN), not for a write in progress. */
  private retrying = false;
  private broken = false;
  private readonly idleCallbacks: ((err?: Error) => void)[] = [];

  constructor(
    private readonly fd: number,
    private readonly onBroken: (err: NodeJS.ErrnoException) => void = () => {},
  ) {}

  write(line: string): boolean {
    if (this.broken) return true;
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (line.length * 3 > this.chunk.length - this.used) this.rotate(line.length * 3);
    this.used += this.chunk.write(line, this.used);
    if (!this.writing && (this.used >= FLUSH_BYTES || this.queue.length > 0)) this.flush();
    return true;
  }

  /** Starts writing everything buffered; `cb` once it is all written (or logging broke). */
  flush(cb?: (err?: Error) => void): void {
    if (this.used > 0) this.rotate(0);
    if (cb) this.idleCallbacks.push(cb);
    if (!this.writing) this.writeNext();
  }

  /**
   * Writes everything buffered now, blocking (for exit). A chunk already handed to an
   * asynchronous write is left to it. A destination not ready is waited for up to ~1 s.
   */
  flushSync(): void {
    if (this.used > 0) this.rotate(0);
    const pending = this.writing && !this.retrying ? this.queue.splice(1) : this.queue.splice(0);
    let waits = 0;
    for (const filled of pending) {
      let start = filled.start;
      while (!this.broken && start < filled.end) {
        try {
          start += writeSync(this.fd, filled.chunk, start, filled.end - start);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'EAGAIN' || ++waits > 1000) this.break(err as NodeJS.ErrnoException);
          else Atomics.wait(SLEEP, 0, 0, 1);
        }
      }
    }
  }

  /** The filled part of the current chunk joins the queue; the next chunk has room for `need` bytes. */
  private rotate(need: number): void {
    if (this.used > 0) this.queue.push({ chunk: this.chunk, start: 0, end: this.used });
    const reused = need <= CHUNK_BYTES ? this.spare.pop() : undefined;
    this.chunk = reused ?? Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, need));
    this.used = 0;
  }

  /** Writes the queue's chunks one after the other, until it is empty. */
  private writeNext(): void {
    const filled = this.queue[0];
    if (!filled || this.broken) {
      this.writing = false;
      const callbacks = this.idleCallbacks.splice(0);
      for (const cb of callbacks) cb();
      return;
    }
    this.writing = true;
    write(this.fd, filled.chunk, filled.start, filled.end - filled.start, null, (err, written) => {
      if (err) {
        if (err.code === 'EAGAIN') {
          this.retrying = true;
          setTimeout(() => {
            this.retrying = false;
            this.writeNext();
          }, EAGAIN_RETRY_MS).unref();
        } else {
          this.break(err);
        }
        return;
      }
      filled.start += written;
      if (filled.start >= filled.end) {
        this.queue.shift();
        if (filled.chunk.length === CHUNK_BYTES && this.spare.length < 2) this.spare.push(filled.chunk);
      }
      this.writeNext();
    });
  }

  private break(err: NodeJS.ErrnoException): void {
    if (this.broken) return;
    this.broken = true;
    this.writing = false;
    this.queue.length = 0;
    this.used = 0;
    this.onBroken(err);
    for (const cb of this.idleCallbacks.splice(0)) cb(err);
  }
}
