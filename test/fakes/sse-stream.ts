import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeConnection, resetConnection, stallUntilClosed } from './connection-faults.js';

/** One SSE event; `data` is written as given (JSON already serialized, or `[DONE]`). */
export interface SseEvent {
  event?: string;
  data: string;
}

/** Timing of a stream, for tests that check events are forwarded as they arrive. */
export interface StreamPacing {
  /** Wait this long before sending the status line and headers. */
  headersDelayMs?: number;
  /** Wait this long between two events. */
  delayMs?: number;
  /**
   * Awaited before writing event `index` (0-based), e.g. a gate a test opens once it has seen
   * event 0; with a fault, also awaited before the fault with `index = afterEvents`.
   */
  beforeEvent?: (index: number) => Promise<void> | void;
}

/**
 * A broken upstream. `afterEvents` events are written first, then:
 * `stall` holds the connection open silently, `reset` sends a TCP RST, `close` closes the
 * socket (FIN) without ending the chunked body, `end` ends the HTTP response cleanly (the
 * provider's final events are simply missing).
 */
export type StreamFault =
  | { kind: 'stall-before-headers' }
  | { kind: 'stall' | 'reset' | 'close' | 'end'; afterEvents: number };

export interface SendOptions {
  status?: number;
  headers?: OutgoingHttpHeaders;
  pace?: StreamPacing;
  fault?: StreamFault;
}

export function formatSseEvent({ event, data }: SseEvent): string {
  const lines = event === undefined ? [] : [`event: ${event}`];
  for (const line of data.split('\n')) lines.push(`data: ${line}`);
  return `${lines.join('\n')}\n\n`;
}

/** Sends the status line and SSE headers right away, before any event, as real upstreams do. */
export function startSse(res: ServerResponse, status = 200, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...headers,
  });
  res.flushHeaders();
}

/** Writes one chunk, honouring backpressure; false once the client has gone. */
export async function writeChunk(res: ServerResponse, chunk: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(chunk)) return true;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
  return !res.destroyed;
}

/** Writes a whole SSE response, with optional pacing and an optional fault. */
export async function sendSse(res: ServerResponse, events: readonly SseEvent[], options: SendOptions = {}): Promise<void> {
  await sendChunks(res, events.map(formatSseEvent), options, (status, headers) => startSse(res, status, headers));
}

/** Writes a JSON response; a fault with `afterEvents >= 1` cuts it after the first half of the body. */
export async function sendJson(res: ServerResponse, body: unknown, options: SendOptions = {}): Promise<void> {
  const text = JSON.stringify(body);
  const half = Math.floor(text.length / 2);
  await sendChunks(res, [text.slice(0, half), text.slice(half)], options, (status, headers) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.flushHeaders();
  });
}

async function sendChunks(
  res: ServerResponse,
  chunks: readonly string[],
  { status = 200, headers = {}, pace = {}, fault }: SendOptions,
  start: (status: number, headers: OutgoingHttpHeaders) => void,
): Promise<void> {
  if (fault?.kind === 'stall-before-headers') return stallUntilClosed(res);
  if (pace.headersDelayMs) await sleep(pace.headersDelayMs);
  if (res.destroyed) return;
  start(status, headers);
  const limit = fault ? Math.min(fault.afterEvents, chunks.length) : chunks.length;
  for (let index = 0; index < limit; index++) {
    if (index > 0 && pace.delayMs) await sleep(pace.delayMs);
    await pace.beforeEvent?.(index);
    if (!(await writeChunk(res, chunks[index]))) return;
  }
  if (!fault) {
    res.end();
    return;
  }
  await pace.beforeEvent?.(limit);
  switch (fault.kind) {
    case 'stall':
      return stallUntilClosed(res);
    case 'reset':
      return resetConnection(res);
    case 'close':
      return closeConnection(res);
    case 'end':
      res.end();
      return;
  }
}
