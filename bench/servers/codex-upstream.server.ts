import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readCodexAccountId } from '../../test/fakes/fake-jwt.js';
import { createIdSource } from '../../test/fakes/fake-turn.js';
import type { TurnContext } from '../../test/fakes/provider-fake.js';
import { responsesTurn } from '../../test/fakes/openai-responses.events.js';
import { formatSseEvent } from '../../test/fakes/sse-stream.js';
import { announceListening, loopbackUrl } from './bench-server-ipc.js';
import { CODEX_TURN } from './codex-turn.js';

/**
 * The Codex (ChatGPT backend) upstream of `/v1/messages`: the same wire as the test suite's
 * OpenAI Responses fake in its `codex` flavour (events rendered by the suite's `responsesTurn`,
 * typed against the OpenAI SDK; `response.created`, `response.in_progress` and
 * `response.completed` echo the request's instructions and tools, as the Responses API does),
 * streamed one event per socket write. It is built to cost little, so that the routers' figures
 * are theirs: a request body identical to the previous one (every request of a timed run) is
 * answered with the events rendered for it, instead of parsing ~50 KB of JSON and serializing
 * ~150 KB again; a new body is parsed, checked as the ChatGPT backend checks it (JWT, account id,
 * stream, store, instructions) and rendered.
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
  if (!req.url?.endsWith('/responses') || req.method !== 'POST') return json(res, 404, { detail: 'Not Found' });
  const accountId = readCodexAccountId(/^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '');
  if (!accountId) return json(res, 401, { detail: 'Unauthorized' });
  if (req.headers['chatgpt-account-id'] !== accountId) return json(res, 403, { detail: 'chatgpt-account-id does not match the token' });
  if (!lastBody || !body.equals(lastBody)) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      return json(res, 400, { detail: 'Invalid JSON' });
    }
    if (parsed.stream !== true) return json(res, 400, { detail: 'Stream must be set to true' });
    if (parsed.store !== false) return json(res, 400, { detail: 'Store must be set to false' });
    if (typeof parsed.instructions !== 'string') return json(res, 400, { detail: 'Instructions are required' });
    const model = typeof parsed.model === 'string' ? parsed.model : 'unknown';
    const ctx = { body: parsed, model, nextId } as unknown as TurnContext;
    lastEvents = responsesTurn(CODEX_TURN, ctx).events.map((event) =>
      Buffer.from(formatSseEvent({ event: event.type, data: JSON.stringify(event) })),
    );
    lastBody = body;
    stats.rendered++;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': nextId('req_') });
  for (const event of lastEvents) res.write(event);
  res.end();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => announceListening(loopbackUrl(server.address()), () => stats));
