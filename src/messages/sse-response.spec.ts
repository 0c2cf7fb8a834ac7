import { PassThrough } from 'node:stream';
import { setImmediate as nextLoopTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { SseResponse } from './sse-response.js';

function chunksOf(sse: SseResponse): string[] {
  const chunks: string[] = [];
  (sse.stream as PassThrough).on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return chunks;
}

describe('SseResponse', () => {
  let sse: SseResponse | undefined;
  afterEach(() => sse?.end());

  it('sends the frames written in one turn of the event loop as one chunk', async () => {
    sse = new SseResponse(60_000, () => ': ping\n\n', new PassThrough());
    const chunks = chunksOf(sse);
    void sse.write('event: a\ndata: 1\n\n');
    await Promise.resolve();
    void sse.write('event: b\ndata: 2\n\n');
    await nextLoopTurn();
    expect(chunks).toEqual(['event: a\ndata: 1\n\nevent: b\ndata: 2\n\n']);
  });

  it('sends pieces of frames encoded ahead as Buffers in order, with the text ones', async () => {
    sse = new SseResponse(60_000, () => ': ping\n\n', new PassThrough());
    const chunks = chunksOf(sse);
    void sse.write('data: 1\n\n');
    void sse.write([Buffer.from('data: '), Buffer.from('ü\n\n')]);
    void sse.write('data: 3\n\n');
    void sse.write('data: 4\n\n');
    await nextLoopTurn();
    // Corked: PassThrough hands the pieces on one by one, a socket would write them at once.
    expect(chunks.join('')).toBe('data: 1\n\ndata: ü\n\ndata: 3\n\ndata: 4\n\n');
    sse.end(Buffer.from('data: last\n\n'));
    await nextLoopTurn();
    expect(chunks.at(-1)).toBe('data: last\n\n');
  });

  it('sends a frame written in a later turn as a chunk of its own, without waiting for more', async () => {
    sse = new SseResponse(60_000, () => ': ping\n\n', new PassThrough());
    const chunks = chunksOf(sse);
    void sse.write('data: 1\n\n');
    await nextLoopTurn();
    void sse.write('data: 2\n\n');
    await nextLoopTurn();
    expect(chunks).toEqual(['data: 1\n\n', 'data: 2\n\n']);
  });

  it('ends with the frames still queued, then the last one', async () => {
    sse = new SseResponse(60_000, () => ': ping\n\n', new PassThrough());
    const chunks = chunksOf(sse);
    void sse.write('data: 1\n\n');
    sse.end('data: last\n\n');
    await nextLoopTurn();
    expect(chunks.join('')).toBe('data: 1\n\ndata: last\n\n');
  });

  it('sends a ping after a silence', async () => {
    sse = new SseResponse(20, () => ': ping\n\n', new PassThrough());
    const chunks = chunksOf(sse);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(chunks[0]).toBe(': ping\n\n');
  });
});
