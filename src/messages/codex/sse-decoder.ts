/** One server-sent event: its `event:` name (if any) and its `data:` lines joined by "\n". */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

export interface SseDecoderOptions {
  /** Events with these `event:` names are dropped without decoding their data. */
  skip?: ReadonlySet<string>;
  /**
   * Events with these `event:` names have their data decoded as latin1, byte per character: many
   * times faster than UTF-8 for large events, and JSON-safe (UTF-8 never puts a byte below 0x80
   * inside a multi-byte character, so quotes and escapes stay where they were), but every
   * non-ASCII string in them comes out garbled. Only for events whose non-ASCII text nobody reads.
   */
  latin1?: ReadonlySet<string>;
  /**
   * Longest line held across chunks: a line still unfinished past this size is an error rather
   * than memory held without bound (a line inside one chunk is bounded by the chunk).
   */
  maxLineBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const DATA = Buffer.from('data');
const EVENT = Buffer.from('event');

/**
 * Splits a byte stream into server-sent events (the WHATWG rules: LF or CRLF line ends, a leading BOM dropped, `:`
 * comments, one optional space after the field's colon, multi-line data, an unfinished event at
 * the end dropped). Linear in the bytes it is given: each chunk is scanned once, and only the
 * lines of an event are decoded to strings, never the buffer around them. Responses events carry
 * the whole request's `instructions` and `tools` back, so an event is often larger than a chunk.
 */
export class SseDecoder {
  private readonly skip: ReadonlySet<string> | undefined;
  private readonly latin1: ReadonlySet<string> | undefined;
  private readonly maxLineBytes: number;
  /** Pieces of a line that has not ended yet. */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private name: string | undefined;
  private data: string[] = [];
  private skipping = false;
  private encoding: BufferEncoding = 'utf8';
  private started = false;

  constructor(options: SseDecoderOptions = {}) {
    this.skip = options.skip;
    this.latin1 = options.latin1;
    this.maxLineBytes = options.maxLineBytes ?? 256 * 1024 * 1024;
  }

  /** The events completed by this chunk, in order. */
  push(chunk: Buffer): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    if (!this.started && chunk.length > 0) {
      this.started = true;
      // A UTF-8 byte order mark may open the stream (the WHATWG rules strip it).
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
    }
    for (;;) {
      const end = chunk.indexOf(LF, start);
      if (end === -1) break;
      if (this.carry.length > 0) {
        this.carry.push(chunk.subarray(start, end));
        const line = Buffer.concat(this.carry, this.carryBytes + end - start);
        this.carry = [];
        this.carryBytes = 0;
        this.line(line, 0, line.length, events);
      } else {
        this.line(chunk, start, end, events);
      }
      start = end + 1;
    }
    if (start < chunk.length) {
      this.carryBytes += chunk.length - start;
      if (this.carryBytes > this.maxLineBytes) throw new Error(`SSE line longer than ${this.maxLineBytes} bytes`);
      this.carry.push(chunk.subarray(start));
    }
    return events;
  }

  private line(buf: Buffer, start: number, end: number, events: SseEvent[]): void {
    if (end > start && buf[end - 1] === CR) end--;
    if (end === start) {
      this.dispatch(events);
      return;
    }
    if (buf[start] === COLON) return;
    const colon = buf.indexOf(COLON, start);
    const nameEnd = colon === -1 || colon > end ? end : colon;
    let value = nameEnd === end ? end : nameEnd + 1;
    if (value < end && buf[value] === SPACE) value++;
    if (isField(buf, start, nameEnd, DATA)) {
      if (!this.skipping) this.data.push(buf.toString(this.encoding, value, end));
    } else if (isField(buf, start, nameEnd, EVENT)) {
      this.name = buf.toString('utf8', value, end);
      if (this.skip?.has(this.name)) {
        this.skipping = true;
        this.data = [];
      }
      if (this.latin1?.has(this.name)) this.encoding = 'latin1';
    }
  }

  private dispatch(events: SseEvent[]): void {
    if (!this.skipping && this.data.length > 0) {
      events.push({ event: this.name, data: this.data.length === 1 ? this.data[0] : this.data.join('\n') });
    }
    this.name = undefined;
    this.data = [];
    this.skipping = false;
    this.encoding = 'utf8';
  }
}

function isField(buf: Buffer, start: number, end: number, field: Buffer): boolean {
  return end - start === field.length && buf.compare(field, 0, field.length, start, end) === 0;
}
