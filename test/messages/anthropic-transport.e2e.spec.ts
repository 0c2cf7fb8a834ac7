import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { streamSimple, type Api, type AssistantMessageEvent, type Context, type Model, type SimpleStreamOptions } from '@mariozechner/pi-ai';
import { afterEach, describe, expect, it } from 'vitest';
import { streamAnthropicMessages } from '../../src/messages/anthropic-upstream/anthropic-messages.stream.js';
import { buildPiModel } from '../../src/messages/models/pi-model-factory.js';
import { fakeSignature } from '../fakes/anthropic-messages.events.js';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import type { FakeScript } from '../fakes/fake-turn.js';
import type { RecordedRequest } from '../fakes/fake-upstream.js';
import type { ProviderFake } from '../fakes/provider-fake.js';

/**
 * piapi's Anthropic client under pi-ai's provider (src/messages/anthropic-upstream) against pi-ai
 * on the Anthropic SDK, its own path: each case sends the same turn through both to the fake
 * Anthropic upstream and compares what the upstream received and what came out.
 */

const API_KEY = 'fake-anthropic-key-transport-0001';
const WEATHER = {
  name: 'get_weather',
  description: 'Weather for a city ✓',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

let fake: ProviderFake | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function model(baseUrl: string, id = 'claude-sonnet-4-5', provider = 'anthropic', headers: Record<string, string> = {}): Model<Api> {
  return buildPiModel({ name: provider, apiKeys: new Map(), services: new Map(), llm: { provider, api: 'anthropic-messages', baseUrl, headers } }, id);
}

/** A second turn: a tool call with its thinking (signed as the fake signs), its result, a question. */
function history(): Context {
  const thinking = 'The user wants the weather — call the tool.';
  return {
    // The unpaired surrogate is dropped on both paths (pi-ai's sanitizeSurrogates).
    systemPrompt: 'You are terse. Réponds en français. 日本 \uD83D🙈',
    tools: [WEATHER],
    messages: [
      { role: 'user', content: 'Weather in Paris?', timestamp: 1 },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking, thinkingSignature: fakeSignature(thinking) },
          { type: 'toolCall', id: 'toolu_01ABC', name: 'get_weather', arguments: { city: 'Paris' } },
        ],
        api: 'anthropic-messages',
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0, totalTokens: 2, cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 } },
        stopReason: 'toolUse',
        timestamp: 2,
      },
      { role: 'toolResult', toolCallId: 'toolu_01ABC', toolName: 'get_weather', content: [{ type: 'text', text: '18 °C, cloudy' }], isError: false, timestamp: 3 },
      { role: 'user', content: 'And tomorrow?', timestamp: 4 },
    ],
  };
}

async function collect(stream: AsyncIterable<AssistantMessageEvent>): Promise<AssistantMessageEvent[]> {
  const events: AssistantMessageEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** Events without what differs between any two runs (timestamps, the fake's ids). */
function comparable(events: AssistantMessageEvent[]): unknown {
  return JSON.parse(JSON.stringify(events, (key, value: unknown) => (key === 'timestamp' || key === 'responseId' ? undefined : value)));
}

const COMPARED_HEADERS = [
  'x-api-key',
  'authorization',
  'anthropic-version',
  'anthropic-beta',
  'anthropic-dangerous-direct-browser-access',
  'accept',
  'content-type',
  'x-initiator',
  'openai-intent',
  'editor-version',
  'copilot-integration-id',
  'x-team',
];

function headersOf(req: RecordedRequest): Record<string, unknown> {
  return Object.fromEntries(COMPARED_HEADERS.map((name) => [name, req.headers[name]]));
}

interface Run {
  events: AssistantMessageEvent[];
  requests: RecordedRequest[];
}

/** The same call through pi-ai on the SDK, then through piapi's client, each against a fresh fake. */
async function both(script: FakeScript, makeModel: (url: string) => Model<Api>, context: Context, options: SimpleStreamOptions): Promise<{ sdk: Run; ours: Run }> {
  const runs: Run[] = [];
  for (const stream of [streamSimple, streamAnthropicMessages]) {
    fake = await startAnthropicMessagesFake(script);
    const events = await collect(stream(makeModel(fake.url), context, { apiKey: API_KEY, ...options }));
    runs.push({ events, requests: [...fake.requests] });
    await fake.close();
    fake = undefined;
  }
  return { sdk: runs[0], ours: runs[1] };
}

const TURN = { reasoning: ['Thinking ', 'it over.'], text: ['Sunny, ', '21 °C ✓'], toolCalls: [{ name: 'get_weather', arguments: { city: 'Lyon' } }], usage: { inputTokens: 42, cacheReadTokens: 7, outputTokens: 9 } };

describe('Anthropic Messages on piapi\'s client, beside pi-ai on the Anthropic SDK', () => {
  it('sends the same body and headers, and gives the same events, for a budget-thinking model with tools and history', async () => {
    const { sdk, ours } = await both(TURN, (url) => model(url, 'claude-sonnet-4-5', 'anthropic', { 'X-Team': 'platform' }), history(), {
      reasoning: 'medium',
      temperature: 0.3,
      headers: { 'x-team': 'override' },
      maxRetries: 0,
    });
    expect(ours.requests).toHaveLength(1);
    const body = ours.requests[0].json();
    expect(body).toEqual(sdk.requests[0].json());
    expect(body.thinking).toMatchObject({ type: 'enabled' });
    expect(body.tools[0].name).toBe('get_weather');
    expect(headersOf(ours.requests[0])).toEqual(headersOf(sdk.requests[0]));
    expect(ours.requests[0].headers['x-api-key']).toBe(API_KEY);
    expect(ours.requests[0].headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14');
    expect(ours.requests[0].headers['x-team']).toBe('override');
    expect(ours.requests[0].path).toBe('/v1/messages');
    expect(comparable(ours.events)).toEqual(comparable(sdk.events));
    const last = ours.events.at(-1);
    expect(last?.type).toBe('done');
    if (last?.type === 'done') {
      expect(last.message.content.map((c) => c.type)).toEqual(['thinking', 'text', 'toolCall']);
      expect(last.message.usage).toMatchObject({ input: 42, cacheRead: 7, output: 9 });
    }
  });

  it('sends the same adaptive thinking and effort for Opus 4.6, and no interleaved-thinking beta', async () => {
    const { sdk, ours } = await both({ text: ['ok'] }, (url) => model(url, 'claude-opus-4-6'), history(), { reasoning: 'high' });
    const body = ours.requests[0].json();
    expect(body).toEqual(sdk.requests[0].json());
    expect(body.thinking).toMatchObject({ type: 'adaptive' });
    expect(body.output_config).toEqual({ effort: 'high' });
    expect(headersOf(ours.requests[0])).toEqual(headersOf(sdk.requests[0]));
    expect(ours.requests[0].headers['anthropic-beta']).toBeUndefined();
  });

  it('sends what pi-ai sends to GitHub Copilot: a bearer token, the Copilot headers, X-Initiator agent after a tool result', async () => {
    const copilot = (url: string): Model<Api> => model(url, 'claude-sonnet-4.5', 'github-copilot');
    const { sdk, ours } = await both({ text: ['ok'] }, copilot, history(), {});
    expect(ours.requests[0].json()).toEqual(sdk.requests[0].json());
    expect(headersOf(ours.requests[0])).toEqual(headersOf(sdk.requests[0]));
    expect(ours.requests[0].headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(ours.requests[0].headers['x-api-key']).toBeUndefined();
    expect(ours.requests[0].headers['copilot-integration-id']).toBe('vscode-chat');
    expect(ours.requests[0].headers['x-initiator']).toBe('user');
  });

  it('ends with the same error message as the SDK for an error response, and shows its head to onResponse', async () => {
    const script = { httpError: { status: 429, message: 'Number of request tokens has exceeded your per-minute rate limit', headers: { 'retry-after': '17' } } };
    const heads: { status: number; headers: Record<string, string> }[] = [];
    const { sdk, ours } = await both(script, (url) => model(url), history(), { maxRetries: 0, onResponse: (r) => void heads.push(r) });
    const sdkError = sdk.events.at(-1);
    const ourError = ours.events.at(-1);
    expect(ourError?.type).toBe('error');
    if (ourError?.type !== 'error' || sdkError?.type !== 'error') throw new Error('expected errors');
    expect(ourError.error.errorMessage).toBe(sdkError.error.errorMessage);
    expect(ourError.error.errorMessage).toMatch(/^429 \{"type":"error","error":\{"type":"rate_limit_error"/);
    // pi-ai's own path never calls onResponse for an error; piapi's client does.
    expect(heads).toHaveLength(1);
    expect(heads[0]).toMatchObject({ status: 429, headers: { 'retry-after': '17' } });
  });

  it('retries as the SDK does: 429 and 5xx after retry-after-ms, twice by default; never against x-should-retry: false', async () => {
    fake = await startAnthropicMessagesFake([
      { httpError: { status: 529, headers: { 'retry-after-ms': '30' } } },
      { httpError: { status: 503, headers: { 'retry-after-ms': '30' } } },
      { text: ['third time'] },
    ]);
    const events = await collect(streamAnthropicMessages(model(fake.url), history(), { apiKey: API_KEY }));
    expect(events.at(-1)?.type).toBe('done');
    expect(fake.requests).toHaveLength(3);
    await fake.close();

    fake = await startAnthropicMessagesFake({ httpError: { status: 500, headers: { 'x-should-retry': 'false' } } });
    const refused = await collect(streamAnthropicMessages(model(fake.url), history(), { apiKey: API_KEY, maxRetries: 2 }));
    expect(refused.at(-1)?.type).toBe('error');
    expect(fake.requests).toHaveLength(1);
    await fake.close();

    fake = await startAnthropicMessagesFake({ httpError: { status: 400, message: 'max_tokens: too large' } });
    const bad = await collect(streamAnthropicMessages(model(fake.url), history(), { apiKey: API_KEY, maxRetries: 2 }));
    expect(bad.at(-1)?.type).toBe('error');
    expect(fake.requests).toHaveLength(1);
  });

  it('sends each request its own tools and system prompt, though equal ones are encoded once', async () => {
    fake = await startAnthropicMessagesFake({ text: ['ok'] });
    const other = { ...WEATHER, description: 'Another description', parameters: { type: 'object', properties: { town: { type: 'string' } }, required: [] } };
    const contexts = [history(), { ...history(), tools: [other], systemPrompt: 'Something else' }, history()];
    for (const context of contexts) await collect(streamAnthropicMessages(model(fake.url), context, { apiKey: API_KEY }));
    const sent = fake.requests.map((req) => req.json());
    expect(sent.map((body) => body.tools[0].description)).toEqual(['Weather for a city ✓', 'Another description', 'Weather for a city ✓']);
    expect(sent.map((body) => Object.keys(body.tools[0].input_schema.properties))).toEqual([['city'], ['town'], ['city']]);
    const terse = 'You are terse. Réponds en français. 日本 🙈';
    expect(sent.map((body) => body.system[0].text)).toEqual([terse, 'Something else', terse]);
    expect(fake.requests[2].body.equals(fake.requests[0].body)).toBe(true);
  });

  it('reports a refused connection with the SDK\'s words', async () => {
    const port = await closedPort();
    const { sdk, ours } = await runBothWithoutFake(`http://127.0.0.1:${port}`);
    expect(ours).toBe('Connection error.');
    expect(ours).toBe(sdk);
  });

  it('closes the upstream connection when the caller aborts mid-stream', async () => {
    fake = await startAnthropicMessagesFake({ text: ['a', 'b', 'c'], fault: { kind: 'stall', afterEvents: 3 } } as never);
    const abort = new AbortController();
    const events: AssistantMessageEvent[] = [];
    for await (const event of streamAnthropicMessages(model(fake.url), history(), { apiKey: API_KEY, signal: abort.signal })) {
      events.push(event);
      if (event.type === 'text_start') abort.abort();
    }
    expect(events.at(-1)).toMatchObject({ type: 'error', reason: 'aborted' });
    await fake.requests[0].closed;
    expect(fake.requests[0].closedEarly).toBe(true);
  });

  it('leaves a Claude subscription token to pi-ai\'s own path, which sends Claude Code\'s identity', async () => {
    fake = await startAnthropicMessagesFake({ text: ['ok'] });
    const events = await collect(streamAnthropicMessages(model(fake.url), history(), { apiKey: 'sk-ant-oat01-subscription' }));
    expect(events.at(-1)?.type).toBe('done');
    const req = fake.requests[0];
    expect(req.headers.authorization).toBe('Bearer sk-ant-oat01-subscription');
    expect(req.headers['anthropic-beta']).toContain('oauth-2025-04-20');
    expect(req.json().system[0].text).toBe("You are Claude Code, Anthropic's official CLI for Claude.");
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function runBothWithoutFake(baseUrl: string): Promise<{ sdk: string | undefined; ours: string | undefined }> {
  const messageOf = async (stream: typeof streamSimple): Promise<string | undefined> => {
    const last = (await collect(stream(model(baseUrl), history(), { apiKey: API_KEY, maxRetries: 0 }))).at(-1);
    return last?.type === 'error' ? last.error.errorMessage : undefined;
  };
  return { sdk: await messageOf(streamSimple), ours: await messageOf(streamAnthropicMessages) };
}
