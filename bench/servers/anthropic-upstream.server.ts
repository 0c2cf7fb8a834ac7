import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { anthropicTurn } from '../../test/fakes/anthropic-messages.events.js';
import { createIdSource } from '../../test/fakes/fake-turn.js';
import type { TurnContext } from '../../test/fakes/provider-fake.js';
import { formatSseEvent } from '../../test/fakes/sse-stream.js';
import { announceListening, loopbackUrl } from './bench-server-ipc.js';
import { CODEX_TURN } from './codex-turn.js';

/**
 * The Anthropic Messages upstream of the `/v1/responses` item: the test suite's Anthropic events
 * (typed against the Anthropic SDK), 20 text deltas per answer, one socket write per event. Cheap
 * on purpose, as the Codex upstream is: a body equal to the previous one is answered with the
 * events rendered for it; a new one is parsed and checked as the API checks it (key,
 * anthropic-version, max_tokens, stream).
 */
const stats = { served: 0, bodyBytes: 0, rendered: 0 };
const nextId = createIdSource();
let lastBody: Buffer | undefined;
let lastEvents: Buffer[] = [];

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => answer(req, res, Buffer.concat(chunks)));
});

function answer(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  stats.served++;
  stats.bodyBytes += body.length;
  if (!req.url?.startsWith('/v1/messages') || req.method !== 'POST') return error(res, 404, 'not_found_error', 'Not Found');
  if (!req.headers['x-api-key'] && !req.headers.authorization) return error(res, 401, 'authentication_error', 'x-api-key header is required');
  if (!req.headers['anthropic-version']) return error(res, 400, 'invalid_request_error', 'anthropic-version: header is required');
  if (!lastBody || !body.equals(lastBody)) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      return error(res, 400, 'invalid_request_error', 'Invalid JSON');
    }
    if (typeof parsed.max_tokens !== 'number') return error(res, 400, 'invalid_request_error', 'max_tokens: Field required');
    if (parsed.stream !== true) return error(res, 400, 'invalid_request_error', 'the bench upstream streams only');
    const model = typeof parsed.model === 'string' ? parsed.model : 'unknown';
    const ctx = { body: parsed, model, nextId } as unknown as TurnContext;
    lastEvents = anthropicTurn(CODEX_TURN, ctx).events.map((event) => Buffer.from(formatSseEvent({ event: event.type, data: JSON.stringify(event) })));
    lastBody = body;
    stats.rendered++;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': nextId('req_') });
  for (const event of lastEvents) res.write(event);
  res.end();
}

function error(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type, message } }));
}

server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => announceListening(loopbackUrl(server.address()), () => stats));
