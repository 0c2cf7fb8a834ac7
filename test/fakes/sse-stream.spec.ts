import { afterEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { createGate } from './gate.js';
import { formatSseEvent, sendSse, type SendOptions, type SseEvent } from './sse-stream.js';

const events: SseEvent[] = [
  { event: 'one', data: '{"n":1}' },
  { event: 'two', data: '{"n":2}' },
  { data: '[DONE]' },
];

describe('sendSse', () => {
  let upstream: FakeUpstream | undefined;
  afterEach(() => upstream?.close());

  const serve = async (options: SendOptions): Promise<Response> => {
    upstream = await startFakeUpstream((_req, res) => sendSse(res, events, options));
    return fetch(`${upstream.url}/stream`);
  };

  it('formats named and data-only events, multi-line data on several data lines', () => {
    expect(formatSseEvent({ event: 'ping', data: '{}' })).toBe('event: ping\ndata: {}\n\n');
    expect(formatSseEvent({ data: 'a\nb' })).toBe('data: a\ndata: b\n\n');
  });

  it('sends headers before the first event and the whole stream in order', async () => {
    const res = await serve({});
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(await res.text()).toBe(events.map(formatSseEvent).join(''));
  });

  it('lets the client read an event before the next one is written', async () => {
    const gate = createGate();
    const res = await serve({ pace: { beforeEvent: (i) => (i === 1 ? gate.promise : undefined) } });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe(formatSseEvent(events[0]));
    gate.open();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += new TextDecoder().decode(chunk.value);
    }
    expect(rest).toBe(events.slice(1).map(formatSseEvent).join(''));
  });

  it('stalls before headers until the client gives up', async () => {
    upstream = await startFakeUpstream((_req, res) => sendSse(res, events, { fault: { kind: 'stall-before-headers' } }));
    await expect(fetch(`${upstream.url}/s`, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    await upstream.requests[0].closed;
    expect(upstream.requests[0].closedEarly).toBe(true);
  });

  it('stalls mid-stream after the given number of events', async () => {
    const res = await serve({ fault: { kind: 'stall', afterEvents: 1 } });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe(formatSseEvent(events[0]));
    const next = await Promise.race([reader.read(), new Promise((r) => setTimeout(() => r('stalled'), 100))]);
    expect(next).toBe('stalled');
    await reader.cancel();
  });

  it('resets the connection after the given number of events', async () => {
    const res = await serve({ fault: { kind: 'reset', afterEvents: 2 } });
    const { received, error } = await readAll(res);
    expect(received).toBe(events.slice(0, 2).map(formatSseEvent).join(''));
    expect(error).toBeDefined();
    expect(upstream!.requests[0].closedEarly).toBe(false);
  });

  it('holds a fault until the gate before it opens', async () => {
    const gate = createGate();
    const pace = { beforeEvent: (i: number) => (i === 1 ? gate.promise : undefined) };
    const res = await serve({ fault: { kind: 'reset', afterEvents: 1 }, pace });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe(formatSseEvent(events[0]));
    gate.open();
    await expect(reader.read()).rejects.toThrow();
  });

  it('closes the socket without ending the chunked body', async () => {
    const res = await serve({ fault: { kind: 'close', afterEvents: 1 } });
    const { received, error } = await readAll(res);
    expect(received).toBe(formatSseEvent(events[0]));
    expect(error).toBeDefined();
  });

  it('ends the response cleanly without the final events', async () => {
    const res = await serve({ fault: { kind: 'end', afterEvents: 2 } });
    const { received, error } = await readAll(res);
    expect(received).toBe(events.slice(0, 2).map(formatSseEvent).join(''));
    expect(error).toBeUndefined();
  });
});

async function readAll(res: Response): Promise<{ received: string; error?: unknown }> {
  let received = '';
  try {
    for await (const chunk of res.body!) received += new TextDecoder().decode(chunk);
    return { received };
  } catch (error) {
    return { received, error };
  }
}
