import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { announceListening, loopbackUrl } from './bench-server-ipc.js';
import { JSON_RESPONSE_BYTES, LIMITED_KEY, SSE_EVENTS, jsonResponseBody, sseEvents } from './passthrough-payloads.js';

/**
 * The pass-through upstream: an OpenAI Responses-shaped API reduced to what costs a proxy
 * something. `/v1/json` → a 1 KB JSON body; `/v1/sse` → 100 SSE events, one write and one event
 * loop turn each (as a model streams them, never coalesced into one chunk); `/v1/hold` → an SSE
 * stream held open, an event every `intervalMs` (query), for the memory test. A request with
 * the key LIMITED_KEY gets a 429 whose retry-after is 0 (the key pool failover column).
 */
const json = jsonResponseBody();
const events = sseEvents();
const counters = { served: 0, open: 0, peakOpen: 0, holdsCompleted: 0, closedEarly: 0 };

const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, noDelay: true }, (req, res) => {
  counters.served++;
  // The body is read (a real upstream parses it) and dropped.
  req.resume();
  req.once('end', () => void answer(req, res));
});

async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://upstream');
  if (req.headers.authorization === `Bearer ${LIMITED_KEY}`) {
    // A key pool's first key, always refused and free again at once: every request fails over.
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
    res.end('{"error":{"message":"rate limited (bench)","type":"rate_limit_exceeded"}}');
    return;
  }
  switch (url.pathname) {
    case '/v1/json':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': JSON_RESPONSE_BYTES, 'x-request-id': 'req_upstream' });
      res.end(json);
      return;
    case '/v1/sse':
      startSse(res);
      for (const event of events) {
        if (res.destroyed) return;
        res.write(event);
        await nextTurn();
      }
      res.end();
      return;
    case '/v1/hold':
      return hold(res, Number(url.searchParams.get('events') ?? 10), Number(url.searchParams.get('intervalMs') ?? 1000));
    default:
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"no such bench route"}}');
  }
}

async function hold(res: ServerResponse, count: number, intervalMs: number): Promise<void> {
  counters.open++;
  counters.peakOpen = Math.max(counters.peakOpen, counters.open);
  res.once('close', () => {
    counters.open--;
    if (!res.writableFinished) counters.closedEarly++;
  });
  startSse(res);
  for (let i = 0; i < count; i++) {
    await sleep(intervalMs);
    if (res.destroyed) return;
    res.write(events[Math.min(i + 1, SSE_EVENTS - 2)]);
  }
  res.end(events[SSE_EVENTS - 1]);
  counters.holdsCompleted++;
}

function startSse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.flushHeaders();
}

server.listen(0, '127.0.0.1', () => {
  announceListening(loopbackUrl(server.address()), () => counters);
});
