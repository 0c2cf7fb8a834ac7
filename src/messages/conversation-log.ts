import { createWriteStream, type WriteStream } from 'node:fs';
import { createRedactor, DEFAULT_SECRET_PATTERNS, type Redactor } from './secret-redactor.js';

export interface ConversationLogOptions {
  /** JSON-lines file, appended to. */
  file: string;
  /** Entries waiting for the disk beyond this are dropped, never buffered without bound. */
  maxQueueSize: number;
  /** Values to mask wherever they appear (provider keys, piapi user keys). */
  secrets?: Iterable<string>;
  /** Shapes to mask; the default list covers common key and token formats. */
  patterns?: readonly RegExp[];
}

/** At most this much is serialized per turn of the event loop, so logging never stalls requests. */
const SLICE_BYTES = 1024 * 1024;

/**
 * Opt-in log of whole conversations, one redacted JSON object per line. `log` only queues the
 * entry: serialization, redaction and writing happen later, off the request path, at the pace
 * the disk takes them. The caller must not mutate an entry after logging it.
 */
export class ConversationLog {
  private readonly queue: unknown[] = [];
  private readonly stream: WriteStream;
  private readonly redact: Redactor;
  private droppedCount = 0;
  private failedCount = 0;
  private scheduled = false;
  private waitingForDrain = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private streamError: Error | undefined;

  constructor(private readonly options: ConversationLogOptions) {
    const secrets = [...(options.secrets ?? [])];
    // A secret with quotes or backslashes appears escaped inside the JSON line.
    const escaped = secrets.map((s) => JSON.stringify(s).slice(1, -1));
    this.redact = createRedactor([...secrets, ...escaped], options.patterns ?? DEFAULT_SECRET_PATTERNS);
    this.stream = createWriteStream(options.file, { flags: 'a' });
    this.stream.on('error', (err) => {
      // A broken log file must not take the gateway down: stop writing and count what is lost.
      this.streamError = err;
      this.droppedCount += this.queue.length;
      this.queue.length = 0;
      this.settleIdle();
    });
  }

  /** Entries dropped because the queue was full or the file failed. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Entries that could not be serialized (cycles, BigInt). */
  get failed(): number {
    return this.failedCount;
  }

  get queued(): number {
    return this.queue.length;
  }

  get error(): Error | undefined {
    return this.streamError;
  }

  /** Queues an entry; false when it was dropped. Never waits for the disk. */
  log(entry: unknown): boolean {
    if (this.closed || this.streamError || this.queue.length >= this.options.maxQueueSize) {
      this.droppedCount++;
      return false;
    }
    this.queue.push(entry);
    this.schedule();
    return true;
  }

  /** Resolves once everything queued so far is handed to the file. */
  flush(): Promise<void> {
    if (this.streamError || this.closed) return Promise.resolve();
    if (this.isIdle()) return new Promise((resolve) => this.stream.write('', () => resolve()));
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    await new Promise<void>((resolve) => this.stream.end(() => resolve()));
  }

  private schedule(): void {
    if (this.scheduled || this.waitingForDrain) return;
    this.scheduled = true;
    setImmediate(() => this.pump());
  }

  private pump(): void {
    this.scheduled = false;
    let written = 0;
    while (this.queue.length > 0 && !this.streamError) {
      if (written >= SLICE_BYTES) {
        this.schedule();
        return;
      }
      const line = this.serialize(this.queue.shift());
      if (line === undefined) continue;
      written += line.length;
      if (!this.stream.write(line)) {
        this.waitingForDrain = true;
        this.stream.once('drain', () => {
          this.waitingForDrain = false;
          this.pump();
        });
        return;
      }
    }
    if (this.isIdle()) this.settleIdle();
  }

  private serialize(entry: unknown): string | undefined {
    try {
      return `${this.redact(JSON.stringify(entry) ?? 'null')}\n`;
    } catch {
      this.failedCount++;
      return undefined;
    }
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && !this.waitingForDrain && !this.scheduled;
  }

  private settleIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    if (waiters.length === 0) return;
    if (this.streamError) {
      for (const resolve of waiters) resolve();
      return;
    }
    this.stream.write('', () => {
      for (const resolve of waiters) resolve();
    });
  }
}
