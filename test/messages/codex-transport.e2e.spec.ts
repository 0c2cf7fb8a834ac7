import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Api, AssistantMessage, AssistantMessageEvent, Context, Model, SimpleStreamOptions } from '@mariozechner/pi-ai';
import { afterEach, describe, expect, it } from 'vitest';
import { streamCodexResponses } from '../../src/messages/codex/codex-responses.stream.js';
import { buildPiModel } from '../../src/messages/models/pi-model-factory.js';
import { fakeCodexJwt } from '../fakes/fake-jwt.js';
import { createIdSource, type FakeScript, type FakeTurn } from '../fakes/fake-turn.js';
import { startFakeUpstream, type FakeUpstream } from '../fakes/fake-upstream.js';
import { createGate } from '../fakes/gate.js';
import { responsesTurn } from '../fakes/openai-responses.events.js';
import { startOpenAIResponsesFake } from '../fakes/openai-responses.fake.js';
import type { TurnContext } from '../fakes/provider-fake.js';
import { formatSseEvent, startSse } from '../fakes/sse-stream.js';

const ACCOUNT_ID = 'acct_transport01';
const JWT = fakeCodexJwt({ accountId: ACCOUNT_ID });
const MODEL_ID = 'gpt-5.1-codex-mini';
const INSTRUCTIONS = 'Réponds brièvement ✓ 日本';
const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** The model piapi builds for an openai-codex provider whose llm.baseUrl points at `baseUrl`. */
function codexModel(baseUrl: string): Model<Api> {
  const llm = { provider: 'openai-codex', api: 'openai-codex-responses', baseUrl, headers: {} };
  return buildPiModel({ name: 'codex', apiKeys: new Map(), services: new Map(), llm }, MODEL_ID);
}

function userContext(text: string, extra: Partial<Context> = {}): Context {
  return { systemPrompt: INSTRUCTIONS, messages: [{ role: 'user', content: text, timestamp: Date.now() }], ...extra };
}

async function collect(stream: AsyncIterable<AssistantMessageEvent>): Promise<AssistantMessageEvent[]> {
  const events: AssistantMessageEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** The message of the final `done` event; fails with the error message otherwise. */
function doneMessage(events: AssistantMessageEvent[]): AssistantMessage {
  const last = events.at(-1);
  if (last?.type === 'done') return last.message;
  throw new Error(`expected done, got ${last?.type}: ${last?.type === 'error' ? last.error.errorMessage : ''}`);
}

function errorEvent(events: AssistantMessageEvent[]): Extract<AssistantMessageEvent, { type: 'error' }> {
  const last = events.at(-1);
  if (last?.type === 'error') return last;
  throw new Error(`expected error, got ${last?.type}`);
}

function run(baseUrl: string, context: Context = userContext('say hi'), options: SimpleStreamOptions = {}): Promise<AssistantMessageEvent[]> {
  return collect(streamCodexResponses(codexModel(baseUrl), context, { apiKey: JWT, ...options }));
}

/** Waits for an exchange to end, but fails fast (on the closedEarly check) rather than hanging the suite. */
function closedOrTimeout(closed: Promise<void>): Promise<unknown> {
  return Promise.race([closed, sleep(2000)]);
}

function textOf(message: AssistantMessage): string {
  return message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

describe('streamCodexResponses against a Codex upstream', () => {
  let fake: FakeUpstream | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  const startCodexFake = async (script: FakeScript): Promise<FakeUpstream> => {
    fake = await startOpenAIResponsesFake(script, { flavor: 'codex' });
    return fake;
  };

  it('streams a non-ASCII text answer whose final text is exact, despite non-ASCII instructions echoed back', async () => {
    const upstream = await startCodexFake({ text: ['héllo ', 'wörld ✓', ' 日本'], usage: { inputTokens: 12, outputTokens: 3 } });
    const events = await run(upstream.url);
    const message = doneMessage(events);
    expect(textOf(message)).toBe('héllo wörld ✓ 日本');
    expect(events.filter((e) => e.type === 'text_delta').map((e) => e.delta)).toEqual(['héllo ', 'wörld ✓', ' 日本']);
    expect(message.stopReason).toBe('stop');
    expect(upstream.requests[0].json().instructions).toBe(INSTRUCTIONS);
  });

  it('reads usage and the response id from response.completed', async () => {
    const upstream = await startCodexFake({ text: ['ok'], usage: { inputTokens: 12, outputTokens: 3 } });
    const message = doneMessage(await run(upstream.url));
    expect(message.usage).toMatchObject({ input: 12, output: 3, cacheRead: 0, totalTokens: 15 });
    expect(message.responseId).toMatch(/^resp_fake\d{4}$/);
  });

  it('ends a response.incomplete answer with stopReason length', async () => {
    const upstream = await startCodexFake({ text: ['cut sh'], stopReason: 'length' });
    const message = doneMessage(await run(upstream.url));
    expect(message.stopReason).toBe('length');
    expect(textOf(message)).toBe('cut sh');
  });

  it('answers a tool call with parsed arguments and stopReason toolUse', async () => {
    const upstream = await startCodexFake({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Zürich' }, id: 'call_w1' }] });
    const message = doneMessage(await run(upstream.url, userContext('weather?', { tools: [WEATHER_TOOL] })));
    expect(message.stopReason).toBe('toolUse');
    expect(message.content).toEqual([expect.objectContaining({ type: 'toolCall', name: 'get_weather', arguments: { city: 'Zürich' } })]);
    const [call] = message.content;
    expect(call.type === 'toolCall' && call.id).toMatch(/^call_w1\|fc_/);
    expect(upstream.requests[0].json().tools).toEqual([{ type: 'function', ...WEATHER_TOOL, strict: null }]);
  });

  it('sends each request its own tools and instructions, the same or changed, from the serialization cache or not', async () => {
    const upstream = await startCodexFake({ text: ['ok'] });
    const tools = () => [structuredClone(WEATHER_TOOL), { name: 'noop', description: 'Nichts ✓', parameters: { type: 'object', properties: {} } }];
    const changed = tools();
    (changed[0].parameters.properties as Record<string, unknown>).city = { type: 'string', description: 'ville' };
    const contexts: Context[] = [
      userContext('one', { tools: tools() }),
      userContext('two', { tools: tools() }),
      userContext('three', { tools: changed }),
      userContext('four', { tools: tools(), systemPrompt: 'Autre consigne ✓' }),
      userContext('five'),
      userContext('six', { tools: tools() }),
    ];
    for (const context of contexts) doneMessage(await run(upstream.url, context, { sessionId: 's' }));
    const sent = upstream.requests.map((r) => r.json<Record<string, unknown>>());
    contexts.forEach((context, i) => {
      expect(sent[i].instructions).toBe(context.systemPrompt);
      expect(sent[i].tools).toEqual(context.tools?.map((tool) => ({ type: 'function', ...tool, strict: null })));
      expect(sent[i]).toMatchObject({ model: MODEL_ID, stream: true, store: false, prompt_cache_key: 's' });
    });
    expect((sent[2].tools as { parameters: { properties: { city: unknown } } }[])[0].parameters.properties.city).toEqual({ type: 'string', description: 'ville' });
    expect(sent[4].tools).toBeUndefined();
  });

  it('sends the Codex headers, with the account id from the token and the session id', async () => {
    const upstream = await startCodexFake({ text: ['ok'] });
    doneMessage(await run(upstream.url, undefined, { sessionId: 'sess-42' }));
    const { path, headers } = upstream.requests[0];
    expect(path).toBe('/codex/responses');
    expect(headers).toMatchObject({
      authorization: `Bearer ${JWT}`,
      'chatgpt-account-id': ACCOUNT_ID,
      originator: 'pi',
      'openai-beta': 'responses=experimental',
      accept: 'text/event-stream',
      'content-type': 'application/json',
      session_id: 'sess-42',
      'x-client-request-id': 'sess-42',
    });
  });

  it('sends no session headers without a session id', async () => {
    const upstream = await startCodexFake({ text: ['ok'] });
    doneMessage(await run(upstream.url));
    expect(upstream.requests[0].headers.session_id).toBeUndefined();
    expect(upstream.requests[0].headers['x-client-request-id']).toBeUndefined();
  });

  it('sends a streaming, unstored body with the instructions and the session id as prompt cache key', async () => {
    const upstream = await startCodexFake({ text: ['ok'] });
    doneMessage(await run(upstream.url, undefined, { sessionId: 'sess-42' }));
    expect(upstream.requests[0].json()).toMatchObject({
      model: MODEL_ID,
      store: false,
      stream: true,
      instructions: INSTRUCTIONS,
      prompt_cache_key: 'sess-42',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'say hi' }] }],
    });
  });

  it('does not retry a 400, and reports its message at once', async () => {
    const upstream = await startCodexFake({ httpError: { status: 400, message: 'Unsupported parameter: frobnicate' } });
    const startedAt = Date.now();
    const error = errorEvent(await run(upstream.url));
    expect(Date.now() - startedAt).toBeLessThan(900);
    expect(error.reason).toBe('error');
    expect(error.error.errorMessage).toBe('Unsupported parameter: frobnicate');
    expect(upstream.requests).toHaveLength(1);
  });

  it('retries a 500 after a one-second backoff and answers from the second attempt', async () => {
    const upstream = await startCodexFake([{ httpError: { status: 500 } }, { text: ['second ', 'time'] }]);
    const message = doneMessage(await run(upstream.url));
    expect(textOf(message)).toBe('second time');
    expect(upstream.requests).toHaveLength(2);
    expect(upstream.requests[1].receivedAt - upstream.requests[0].receivedAt).toBeGreaterThanOrEqual(900);
  });

  it('turns an `error` SSE event into an error event "Codex error: …"', async () => {
    const upstream = await startCodexFake({ text: ['partial'], streamError: { message: 'quota exhausted', code: 'insufficient_quota', bareErrorEvent: true } });
    const error = errorEvent(await run(upstream.url));
    expect(error.reason).toBe('error');
    expect(error.error.errorMessage).toBe('Codex error: quota exhausted');
  });

  it('turns response.failed into an error event with its UTF-8 message', async () => {
    const upstream = await startCodexFake({ text: ['partial'], streamError: { message: 'modèle surchargé ✓' } });
    const error = errorEvent(await run(upstream.url));
    expect(error.reason).toBe('error');
    expect(error.error.errorMessage).toBe('modèle surchargé ✓');
  });

  it('reports an event that is not JSON as invalid Codex SSE JSON', async () => {
    fake = await startFakeUpstream(async (_req, res) => {
      startSse(res);
      res.write(formatSseEvent({ event: 'response.output_text.delta', data: '{"type":"response.output_text.delta","delta":' }));
      await sleep(10);
      res.end();
    });
    const error = errorEvent(await run(fake.url));
    expect(error.reason).toBe('error');
    expect(error.error.errorMessage).toMatch(/^Invalid Codex SSE JSON: /);
  });

  it('reports a truncated response.completed as invalid Codex SSE JSON', async () => {
    fake = await startFakeUpstream((_req, res) => {
      startSse(res);
      res.end(formatSseEvent({ event: 'response.completed', data: '{"type":"response.completed","response":{"id":"resp_1","status":"completed"' }));
    });
    const error = errorEvent(await run(fake.url));
    expect(error.reason).toBe('error');
    expect(error.error.errorMessage).toMatch(/^Invalid Codex SSE JSON: /);
  });

  it('reports a stream that ends cleanly before its final event as an error, not as a complete answer', async () => {
    fake = await startFakeUpstream((_req, res) => {
      startSse(res);
      res.write(formatSseEvent({ event: 'response.created', data: '{"type":"response.created","response":{"id":"resp_cut"}}' }));
      res.end();
    });
    const error = errorEvent(await run(fake.url));
    expect(error.reason).toBe('error');
    expect(error.error.errorMessage).toMatch(/ended before its final event/);
  });

  it('closes the upstream connection when the stream fails before its final event', async () => {
    const gate = createGate();
    fake = await startFakeUpstream(async (_req, res) => {
      startSse(res);
      res.write(formatSseEvent({ event: 'response.output_text.delta', data: 'not json' }));
      await gate.promise;
      res.end();
    });
    try {
      errorEvent(await run(fake.url));
      await closedOrTimeout(fake.requests[0].closed);
      expect(fake.requests[0].closedEarly).toBe(true);
    } finally {
      gate.open();
    }
  });

  it('ends with reason aborted when the signal aborts mid-stream, and closes the upstream connection', async () => {
    const gate = createGate();
    // Events 0-4: created, in_progress, output_item.added, content_part.added, the first delta.
    const upstream = await startCodexFake({ text: ['one', 'two'], pace: { beforeEvent: (i) => (i === 5 ? gate.promise : undefined) } });
    const controller = new AbortController();
    const events: AssistantMessageEvent[] = [];
    try {
      for await (const event of streamCodexResponses(codexModel(upstream.url), userContext('count'), { apiKey: JWT, signal: controller.signal })) {
        events.push(event);
        if (event.type === 'text_delta') controller.abort();
      }
      const error = errorEvent(events);
      expect(error.reason).toBe('aborted');
      expect(error.error.stopReason).toBe('aborted');
      expect(events.filter((e) => e.type === 'text_delta').map((e) => e.delta)).toEqual(['one']);
      await closedOrTimeout(upstream.requests[0].closed);
      expect(upstream.requests[0].closedEarly).toBe(true);
    } finally {
      gate.open();
    }
  });
});

interface KeepAliveUpstream {
  url: string;
  /** The client port of every request's connection, in arrival order. */
  clientPorts: (number | undefined)[];
  /** Per request: resolves once its response is over, ended or cut. */
  responsesOver: Promise<unknown>[];
  connections(): number;
  close(): Promise<void>;
}

/**
 * A Codex upstream that, like a real one behind a proxy, ends the chunked body a little after
 * the final event: the client has its answer before the connection is free again.
 */
async function startKeepAliveUpstream(endDelayMs: number): Promise<KeepAliveUpstream> {
  const clientPorts: (number | undefined)[] = [];
  const responsesOver: Promise<unknown>[] = [];
  let connections = 0;
  const nextId = createIdSource();
  const turn: FakeTurn = { text: ['kept ', 'alive'] };
  const server: Server = createServer((req, res) => {
    clientPorts.push(req.socket.remotePort);
    responsesOver.push(once(res, 'close'));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      // responsesTurn reads only the body, the model and the id source.
      const ctx: TurnContext = { req: undefined as never, body, model: String(body.model), nextId };
      startSse(res);
      res.write(responsesTurn(turn, ctx).events.map((event) => formatSseEvent({ event: event.type, data: JSON.stringify(event) })).join(''));
      setTimeout(() => res.end(), endDelayMs);
    });
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    clientPorts,
    responsesOver,
    connections: () => connections,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('streamCodexResponses connection reuse', () => {
  let upstream: KeepAliveUpstream | undefined;
  afterEach(async () => {
    await upstream?.close();
    upstream = undefined;
  });

  it('sends the next request on the same upstream connection, having read the end of the body after the final event', async () => {
    upstream = await startKeepAliveUpstream(50);
    expect(textOf(doneMessage(await run(upstream.url)))).toBe('kept alive');
    await upstream.responsesOver[0];
    // Time for the end of the body to reach the client; the connection is idle after that.
    await sleep(50);
    expect(textOf(doneMessage(await run(upstream.url)))).toBe('kept alive');
    expect(upstream.clientPorts).toHaveLength(2);
    expect(upstream.clientPorts[1]).toBe(upstream.clientPorts[0]);
    expect(upstream.connections()).toBe(1);
  });
});
