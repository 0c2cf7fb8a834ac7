import { createInterface, type Interface } from 'node:readline';
import type { Readable } from 'node:stream';

/** Lines typed or piped into a stream, one at a time, opened only when first asked for. */
export class LineInput {
  private reader: Interface | undefined;
  private readonly lines: string[] = [];
  private readonly waiting: Array<(line: string | undefined) => void> = [];
  private ended = false;

  constructor(private readonly input: Readable = process.stdin) {}

  /** The next line; undefined once the input has ended. */
  next(): Promise<string | undefined> {
    this.open();
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  close(): void {
    this.reader?.close();
  }

  private open(): void {
    if (this.reader) return;
    this.reader = createInterface({ input: this.input, terminal: false });
    this.reader.on('line', (line) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter(line);
      else this.lines.push(line);
    });
    this.reader.on('close', () => {
      this.ended = true;
      for (const waiter of this.waiting.splice(0)) waiter(undefined);
    });
  }
}
