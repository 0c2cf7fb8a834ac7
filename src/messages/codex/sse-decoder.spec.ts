import { afterEach, describe, expect, it, vi } from 'vitest';
import { SseDecoder, type SseDecoderOptions, type SseEvent } from './sse-decoder.js';

function decode(chunks: readonly (Buffer | string)[], options?: SseDecoderOptions): SseEvent[] {
  const decoder = new SseDecoder(options);
  return chunks.flatMap((chunk) => decoder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
}

// Every line ending, a comment, a multi-byte character on both sides of a field, multi-line data.
const STREAM = Buffer.from(
  [
    ': keep-alive\n',
    'event: response.output_text.delta\r\n',
    'data: {"delta":"héllo wörld ✓ 日本"}\r\n',
    '\r\n',
    'event: two\n',
    'data: first line\n',
    'data:second ✓ line\n',
    '\n',
    'data: 日本\n',
    '\n',
  ].join(''),
);
const STREAM_EVENTS: SseEvent[] = [
  { event: 'response.output_text.delta', data: '{"delta":"héllo wörld ✓ 日本"}' },
  { event: 'two', data: 'first line\nsecond ✓ line' },
  { event: undefined, data: '日本' },
];

describe('SseDecoder', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('decodes a stream given as one chunk', () => {
    expect(decode([STREAM])).toEqual(STREAM_EVENTS);
  });

  it('gives the same events wherever the stream is split in two, inside a UTF-8 character or between CR and LF too', () => {
    // The fixture has both kinds of awkward split point, so the loop below covers them.
    expect(STREAM.indexOf('\r\n')).toBeGreaterThan(0);
    expect(STREAM.length).toBeGreaterThan(STREAM.toString('utf8').length);
    for (let at = 0; at <= STREAM.length; at++) {
      expect(decode([STREAM.subarray(0, at), STREAM.subarray(at)]), `split at byte ${at}`).toEqual(STREAM_EVENTS);
    }
  });

  it('gives the same events when the stream arrives one byte at a time', () => {
    const bytes = Array.from({ length: STREAM.length }, (_, i) => STREAM.subarray(i, i + 1));
    expect(decode(bytes)).toEqual(STREAM_EVENTS);
  });

  it('drops a UTF-8 byte order mark that opens the stream', () => {
    expect(decode([Buffer.from([0xef, 0xbb, 0xbf]), 'data: 1\n\n'])).toEqual([{ event: undefined, data: '1' }]);
    expect(decode(['\uFEFFdata: 1\n\n'])).toEqual([{ event: undefined, data: '1' }]);
  });

  it('accepts CRLF line ends', () => {
    expect(decode(['event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n'])).toEqual([
      { event: 'a', data: '1' },
      { event: 'b', data: '2' },
    ]);
  });

  it('ignores comment lines, between events and inside one', () => {
    expect(decode([': hello\n\nevent: a\n: ping\ndata: 1\n:\n\n'])).toEqual([{ event: 'a', data: '1' }]);
  });

  it('takes the value after "data:" with or without one space, and keeps any further spaces', () => {
    expect(decode(['data:x\n\ndata: y\n\ndata:  z\n\n']).map((e) => e.data)).toEqual(['x', 'y', ' z']);
  });

  it('joins the data lines of one event with "\\n"', () => {
    expect(decode(['data: {\ndata: "a": 1\ndata: }\n\n'])).toEqual([{ event: undefined, data: '{\n"a": 1\n}' }]);
  });

  it('names an event from its "event:" line, and not the next one', () => {
    expect(decode(['event: response.created\ndata: 1\n\ndata: 2\n\n'])).toEqual([
      { event: 'response.created', data: '1' },
      { event: undefined, data: '2' },
    ]);
  });

  it('emits no event for a name without data', () => {
    expect(decode(['event: ping\n\ndata: 1\n\n'])).toEqual([{ event: undefined, data: '1' }]);
  });

  it('does not emit an unfinished event at the end of the stream', () => {
    expect(decode(['data: 1\n\nevent: late\ndata: 2\n'])).toEqual([{ event: undefined, data: '1' }]);
    expect(decode(['data: 1\n\ndata: 2'])).toEqual([{ event: undefined, data: '1' }]);
  });

  it('drops an event named in skip without decoding its data, and keeps the next one', () => {
    const toString = vi.spyOn(Buffer.prototype, 'toString');
    const events = decode(['event: response.in_progress\ndata: {"echo":"SKIPPED-DATA"}\n\nevent: b\ndata: kept\n\n'], {
      skip: new Set(['response.in_progress']),
    });
    expect(events).toEqual([{ event: 'b', data: 'kept' }]);
    const decoded = toString.mock.results.map((result) => String(result.value));
    expect(decoded).toContain('kept');
    expect(decoded.some((text) => text.includes('SKIPPED-DATA'))).toBe(false);
  });

  it('decodes an event named in latin1 byte per byte, leaving its JSON structure and ASCII fields intact', () => {
    const response = { id: 'resp_1', status: 'completed', instructions: 'héllo "wörld" ✓ 日本\\ \n', usage: { input_tokens: 12 } };
    const data = JSON.stringify({ type: 'response.completed', response });
    const [event] = decode([`event: response.completed\ndata: ${data}\n\n`], { latin1: new Set(['response.completed']) });
    expect(event.data).toBe(Buffer.from(data).toString('latin1'));
    const parsed = JSON.parse(event.data);
    expect(parsed.type).toBe('response.completed');
    expect(parsed.response.id).toBe('resp_1');
    expect(parsed.response.status).toBe('completed');
    expect(parsed.response.usage).toEqual({ input_tokens: 12 });
    // The non-ASCII text is garbled, as documented: nobody may read it.
    expect(parsed.response.instructions).not.toBe(response.instructions);
    expect(Buffer.from(parsed.response.instructions, 'latin1').toString('utf8')).toBe(response.instructions);
  });

  it('decodes events not named in latin1 as UTF-8, also after a latin1 event', () => {
    const events = decode(['event: l\ndata: é\n\nevent: u\ndata: é\n\n'], { latin1: new Set(['l']) });
    expect(events).toEqual([
      { event: 'l', data: Buffer.from('é').toString('latin1') },
      { event: 'u', data: 'é' },
    ]);
  });

  it('throws once an unfinished line grows past maxLineBytes', () => {
    const decoder = new SseDecoder({ maxLineBytes: 16 });
    expect(decoder.push(Buffer.from('data: 0123456789'))).toEqual([]);
    expect(() => decoder.push(Buffer.from('a'))).toThrow('SSE line longer than 16 bytes');
  });

  it('decodes a 1 MB event delivered in 1 KB chunks', () => {
    const text = 'abc héllo ✓ 日本 \\"quoted\\" '.repeat(40_000).slice(0, 1_000_000);
    const bytes = Buffer.from(`event: response.completed\ndata: {"text":"${text}"}\n\n`);
    expect(bytes.length).toBeGreaterThan(1_000_000);
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 1024) chunks.push(bytes.subarray(at, at + 1024));
    expect(decode(chunks)).toEqual([{ event: 'response.completed', data: `{"text":"${text}"}` }]);
  });
});
