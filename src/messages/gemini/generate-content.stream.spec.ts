import { streamSimple, Type, type Api, type AssistantMessage, type Context, type Model, type SimpleStreamOptions } from '@mariozechner/pi-ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeTurn } from '../../../test/fakes/fake-turn.js';
import { createGate } from '../../../test/fakes/gate.js';
import { startGeminiFake } from '../../../test/fakes/gemini.fake.js';
import type { ProviderFake } from '../../../test/fakes/provider-fake.js';
import { streamGeminiGenerateContent } from './generate-content.stream.js';
import type { ReasoningUsage } from '../reasoning-usage.js';

const KEY = 'AIza-fake-transport-0001';

let fake: ProviderFake;
let turn: FakeTurn = { text: ['ok'] };
beforeAll(async () => {
  fake = await startGeminiFake(() => turn);
});
afterAll(() => fake.close());

function gemini(id: string, reasoning = true): Model<Api> {
  return {
    id,
    name: id,
    api: 'google-generative-ai',
    provider: 'google',
    baseUrl: `${fake.url}/v1beta`,
    reasoning,
    input: ['text', 'image'],
    cost: { input: 1, output: 2, cacheRead: 0.1, cacheWrite: 0 },
    contextWindow: 1_000_000,
    maxTokens: 65_536,
  };
}

const weather = { name: 'get_weather', description: 'Weather for a city', parameters: Type.Object({ city: Type.String() }) };
const user = (content: string) => ({ role: 'user' as const, content, timestamp: 0 });

/** A Gemini turn with history: an earlier call of the same model, its result, an image. */
function toolHistory(model: Model<Api>): Context {
  const call: AssistantMessage = {
    role: 'assistant',
    content: [
      { type: 'thinking', thinking: 'Need the weather.', thinkingSignature: 'c2lnbmF0dXJl' },
      { type: 'toolCall', id: 'get_weather_1', name: 'get_weather', arguments: { city: 'Paris' }, thoughtSignature: 'c2lnbmF0dXJl' },
    ],
    api: model.api,
    provider: model.provider,
    model: model.id,
    usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0, totalTokens: 2, cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 } },
    stopReason: 'toolUse',
    timestamp: 0,
  };
  return {
    systemPrompt: 'You are terse.',
    tools: [weather],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'weather here?' }, { type: 'image', mimeType: 'image/png', data: 'iVBORw0KGgo=' }], timestamp: 0 },
      call,
      { role: 'toolResult', toolCallId: 'get_weather_1', toolName: 'get_weather', content: [{ type: 'text', text: '21C' }], isError: false, timestamp: 0 },
    ],
  };
}

/** The request each transport sends for the same call, and the message each ends with. */
async function bothWays(model: Model<Api>, context: Context, options: SimpleStreamOptions = {}) {
  const run = async (transport: typeof streamSimple) => {
    const before = fake.requests.length;
    const message = await transport(model, context, { apiKey: KEY, ...options }).result();
    const req = fake.requests[before];
    return { req, message };
  };
  return { pi: await run(streamSimple), ours: await run(streamGeminiGenerateContent) };
}

/** The headers @google/genai sets; fetch adds accept, accept-language, sec-fetch-mode and accept-encoding of its own. */
const SDK_HEADERS = ['user-agent', 'x-goog-api-client', 'content-type', 'x-goog-api-key', 'x-custom'];
const sdkHeaders = (headers: Record<string, unknown>) => Object.fromEntries(SDK_HEADERS.filter((h) => h in headers).map((h) => [h, headers[h]]));
/** Tool call ids are made up from the clock, timestamps differ, the fake numbers its response ids. */
const comparable = (message: AssistantMessage) => ({
  ...message,
  timestamp: 0,
  responseId: message.responseId?.replace(/\d+$/, ''),
  content: message.content.map((b) => (b.type === 'toolCall' ? { ...b, id: b.id.replace(/_\d+_\d+$/, '') } : b)),
});

describe('streamGeminiGenerateContent sends what pi-ai’s google provider sends', () => {
  const cases: Array<[string, () => Model<Api>, (model: Model<Api>) => Context, SimpleStreamOptions]> = [
    ['a system prompt and text, thinking off', () => gemini('gemini-2.5-flash'), () => ({ systemPrompt: 'Be brief.', messages: [user('hi')] }), {}],
    ['a thinking budget, max tokens and temperature', () => gemini('gemini-2.5-pro'), () => ({ messages: [user('hi')] }), { reasoning: 'low', maxTokens: 5000, temperature: 0.3 }],
    ['a Gemini 3 thinking level', () => gemini('gemini-3-pro-preview'), () => ({ messages: [user('hi')] }), { reasoning: 'high' }],
    ['Gemini 3 Flash with thinking off', () => gemini('gemini-3-flash-preview'), () => ({ messages: [user('hi')] }), {}],
    ['a model that does not reason', () => gemini('gemma-3-27b-it', false), () => ({ messages: [user('hi')] }), { reasoning: 'medium' }],
    ['tools, a tool round trip with thought signatures, an image', () => gemini('gemini-2.5-flash'), (model) => toolHistory(model), {}],
    [
      'the fields an onPayload hook adds to the config, and extra headers',
      () => gemini('gemini-2.5-flash'),
      () => ({ messages: [user('hi')], tools: [weather] }),
      {
        headers: { 'x-custom': 'yes' },
        onPayload: (p) => {
          const payload = p as { config: Record<string, unknown> };
          return { ...payload, config: { ...payload.config, topP: 0.5, stopSequences: ['END'], toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } } } };
        },
      },
    ],
  ];

  it.each(cases)('%s', async (_name, modelOf, context, options) => {
    turn = { text: ['ok'] };
    const model = modelOf();
    const { pi, ours } = await bothWays(model, context(model), options);
    expect(ours.message.errorMessage).toBeUndefined();
    expect(ours.req.url).toBe(pi.req.url);
    expect(ours.req.json()).toEqual(pi.req.json());
    expect(sdkHeaders(ours.req.headers)).toEqual(sdkHeaders(pi.req.headers));
  });
});

describe('streamGeminiGenerateContent reads a finished answer as pi-ai’s google provider does', () => {
  const turns: Array<[string, FakeTurn]> = [
    ['text with usage and cached tokens', { text: ['Hello', ' there'], usage: { inputTokens: 12, outputTokens: 7, reasoningTokens: 4, cacheReadTokens: 100 } }],
    ['thoughts, then text', { reasoning: ['hmm', ' ok'], text: ['Done.'] }],
    ['a function call', { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] }],
    ['an answer cut by max tokens', { text: ['Lo'], stopReason: 'length' }],
  ];

  it.each(turns)('%s', async (_name, script) => {
    turn = script;
    const model = gemini('gemini-2.5-flash');
    const context: Context = { messages: [user('hi')], tools: [weather] };
    const piEvents: string[] = [];
    const ourEvents: string[] = [];
    const pi = streamSimple(model, context, { apiKey: KEY });
    for await (const e of pi) piEvents.push(e.type);
    const ours = streamGeminiGenerateContent(model, context, { apiKey: KEY });
    for await (const e of ours) ourEvents.push(e.type);
    expect(ourEvents).toEqual(piEvents);
    const { usage: { reasoning, ...usage }, ...message } = (await ours.result()) as AssistantMessage & { usage: ReasoningUsage };
    expect(comparable({ ...message, usage })).toEqual(comparable(await pi.result()));
    // Beyond pi-ai's usage: the thoughts counted apart (thoughtsTokenCount), 0 when there were none.
    expect(reasoning).toBe(script.usage?.reasoningTokens ?? 0);
  });

  it('fails an HTTP error with the same message, and reports its status and headers to onResponse', async () => {
    turn = { httpError: { status: 429, message: 'Resource has been exhausted (e.g. check quota).', headers: { 'retry-after': '7' } } };
    const { pi, ours } = await bothWays(gemini('gemini-2.5-flash'), { messages: [user('hi')] });
    expect(ours.message.stopReason).toBe('error');
    expect(ours.message.errorMessage).toBe(pi.message.errorMessage);
    const seen: Array<{ status: number; headers: Record<string, string> }> = [];
    await streamGeminiGenerateContent(gemini('gemini-2.5-flash'), { messages: [user('hi')] }, { apiKey: KEY, onResponse: (r) => void seen.push(r) }).result();
    expect(seen).toMatchObject([{ status: 429, headers: { 'retry-after': '7' } }]);
  });
});

describe('streamGeminiGenerateContent fails what pi-ai’s google provider passed off as complete', () => {
  const model = (): Model<Api> => gemini('gemini-2.5-flash');

  it('an error chunk after some text', async () => {
    turn = { text: ['Partial', ' answer'], streamError: { message: 'The model is overloaded. Please try again later.' } };
    const pi = await streamSimple(model(), { messages: [user('hi')] }, { apiKey: KEY }).result();
    expect(pi).toMatchObject({ stopReason: 'stop', content: [{ type: 'text', text: 'Partial answer' }] });
    const ours = await streamGeminiGenerateContent(model(), { messages: [user('hi')] }, { apiKey: KEY }).result();
    expect(ours.stopReason).toBe('error');
    expect(ours.errorMessage).toMatch(/^got status: INTERNAL\. \{"error":\{"code":500,"message":"The model is overloaded/);
  });

  it('a stream that ended cleanly before a chunk with finishReason', async () => {
    turn = { text: ['Partial', ' answer', ' and the rest'], fault: { kind: 'end', afterEvents: 2 } };
    const pi = await streamSimple(model(), { messages: [user('hi')] }, { apiKey: KEY }).result();
    expect(pi).toMatchObject({ stopReason: 'stop', content: [{ type: 'text', text: 'Partial answer' }] });
    const ours = await streamGeminiGenerateContent(model(), { messages: [user('hi')] }, { apiKey: KEY }).result();
    expect(ours).toMatchObject({ stopReason: 'error', errorMessage: 'Gemini stream ended before a candidate had a finishReason' });
  });

  it('a connection closed midway, as pi-ai did', async () => {
    turn = { text: ['Partial', ' answer', ' and the rest'], fault: { kind: 'close', afterEvents: 2 } };
    const ours = await streamGeminiGenerateContent(model(), { messages: [user('hi')] }, { apiKey: KEY }).result();
    expect(ours.stopReason).toBe('error');
  });
});

describe('streamGeminiGenerateContent and the caller’s signal', () => {
  it('ends as aborted when the caller aborts midway, and closes the upstream request', async () => {
    const gate = createGate();
    turn = { text: ['Partial', ' answer'], pace: { beforeEvent: (i) => (i === 1 ? gate.promise : undefined) } };
    const before = fake.requests.length;
    const controller = new AbortController();
    const stream = streamGeminiGenerateContent(gemini('gemini-2.5-flash'), { messages: [user('hi')] }, { apiKey: KEY, signal: controller.signal });
    try {
      for await (const event of stream) if (event.type === 'text_delta') controller.abort();
      expect(await stream.result()).toMatchObject({ stopReason: 'aborted', content: [{ type: 'text', text: 'Partial' }] });
      // The fake holds the rest of the answer until the gate opens: only the abort can end the exchange.
      const req = fake.requests[before];
      await req.closed;
      expect(req.closedEarly).toBe(true);
    } finally {
      gate.open();
    }
  }, 5_000);
});
