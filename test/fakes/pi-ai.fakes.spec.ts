import { stream, Type, type Api, type Context, type Model, type ProviderStreamOptions } from '@mariozechner/pi-ai';
import { afterEach, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from './anthropic-messages.fake.js';
import { startChatCompletionsFake } from './chat-completions.fake.js';
import { fakeCodexJwt } from './fake-jwt.js';
import type { FakeHttpError, FakeScript } from './fake-turn.js';
import { startGeminiFake } from './gemini.fake.js';
import type { RecordedJson, RecordedRequest } from './fake-upstream.js';
import { startOpenAIResponsesFake } from './openai-responses.fake.js';
import type { ProviderFake } from './provider-fake.js';

interface Target {
  api: Api;
  provider: string;
  start: (script: FakeScript) => Promise<ProviderFake>;
  /** pi-ai's baseUrl for a fake at `url` (see pi-ai-notes: each api appends its own path). */
  baseUrl: (url: string) => string;
  path: string;
  apiKey: string;
  /** Whether a recorded request carries the result of tool call `id`. */
  hasToolResult: (body: RecordedJson, id: string) => boolean;
  /** An HTTP error pi-ai reports without retrying, and the message it reports. */
  httpError: FakeHttpError;
  errorMessage: RegExp;
}

const badRequest = { httpError: { status: 400, message: 'bad request from fake' }, errorMessage: /bad request from fake/ };

const responsesHasResult = (body: RecordedJson, id: string): boolean =>
  body.input.some((item: RecordedJson) => item.type === 'function_call_output' && item.call_id === id.split('|')[0]);

const targets: Target[] = [
  {
    api: 'openai-responses',
    provider: 'openai',
    start: (script) => startOpenAIResponsesFake(script),
    baseUrl: (url) => `${url}/v1`,
    path: '/v1/responses',
    apiKey: 'sk-test',
    hasToolResult: responsesHasResult,
    ...badRequest,
  },
  {
    api: 'openai-codex-responses',
    provider: 'openai-codex',
    start: (script) => startOpenAIResponsesFake(script, { flavor: 'codex' }),
    baseUrl: (url) => url,
    path: '/codex/responses',
    apiKey: fakeCodexJwt({ accountId: 'acct_pi' }),
    hasToolResult: responsesHasResult,
    // pi-ai's Codex provider retries every HTTP error 3 times (1+2+4 s), whatever maxRetries says,
    // except usage-limit errors on a non-retryable status.
    httpError: { status: 403, body: { error: { type: 'usage_not_included', message: 'no', plan_type: 'free' } } },
    errorMessage: /ChatGPT usage limit \(free plan\)/,
  },
  {
    api: 'anthropic-messages',
    provider: 'anthropic',
    start: (script) => startAnthropicMessagesFake(script),
    baseUrl: (url) => url,
    path: '/v1/messages',
    apiKey: 'sk-ant-test',
    hasToolResult: (body, id) =>
      body.messages.some(
        (m: RecordedJson) => Array.isArray(m.content) && m.content.some((b: RecordedJson) => b.type === 'tool_result' && b.tool_use_id === id),
      ),
    ...badRequest,
  },
  {
    api: 'openai-completions',
    provider: 'openai',
    start: (script) => startChatCompletionsFake(script),
    baseUrl: (url) => `${url}/v1`,
    path: '/v1/chat/completions',
    apiKey: 'sk-test',
    hasToolResult: (body, id) => body.messages.some((m: RecordedJson) => m.role === 'tool' && m.tool_call_id === id),
    ...badRequest,
  },
  {
    api: 'google-generative-ai',
    provider: 'google',
    start: (script) => startGeminiFake(script),
    baseUrl: (url) => `${url}/v1beta`,
    path: '/v1beta/models/fake-model:streamGenerateContent',
    apiKey: 'AIza-fake-test',
    // Gemini carries no call id: a result is matched to its call by name (pi-ai makes up the id).
    hasToolResult: (body, id) =>
      id.startsWith('get_weather_') &&
      body.contents.some(
        (c: RecordedJson) => c.role === 'user' && c.parts.some((p: RecordedJson) => p.functionResponse?.name === 'get_weather'),
      ),
    ...badRequest,
  },
];

const weatherTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: Type.Object({ city: Type.String() }),
};

describe.each(targets)('pi-ai $api against its fake upstream', (target) => {
  let fake: ProviderFake | undefined;
  afterEach(() => fake?.close());

  const model = (): Model<Api> => ({
    id: 'fake-model',
    name: 'Fake model',
    api: target.api,
    provider: target.provider,
    baseUrl: target.baseUrl(fake!.url),
    reasoning: false,
    input: ['text'],
    cost: { input: 1, output: 1, cacheRead: 0.1, cacheWrite: 1 },
    contextWindow: 200_000,
    maxTokens: 4096,
  });
  // SSE only: pi-ai's Codex transport would otherwise try a WebSocket first on Node >= 22.
  const options: ProviderStreamOptions = { apiKey: target.apiKey, maxRetries: 0, transport: 'sse' };

  it('completes a text turn with the streamed text and usage', async () => {
    fake = await target.start({ text: ['Hello', ' from', ' the fake'], usage: { inputTokens: 8, cacheReadTokens: 2 } });
    const events = stream(model(), { messages: [{ role: 'user', content: 'hi', timestamp: Date.now() }] }, options);
    const deltas: string[] = [];
    for await (const event of events) if (event.type === 'text_delta') deltas.push(event.delta);
    const message = await events.result();
    expect(message.errorMessage).toBeUndefined();
    expect(deltas.join('')).toBe('Hello from the fake');
    expect(message.content).toMatchObject([{ type: 'text', text: 'Hello from the fake' }]);
    expect(message.stopReason).toBe('stop');
    expect(message.usage).toMatchObject({ input: 8, cacheRead: 2, output: 5 });
    expect(fake.requests[0].path).toBe(target.path);
  });

  it('completes a tool turn, then sends the tool result back on the next request', async () => {
    fake = await target.start([
      { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] },
      { text: ['Sunny.'] },
    ]);
    const context: Context = {
      systemPrompt: 'You are terse.',
      messages: [{ role: 'user', content: 'weather in Paris?', timestamp: Date.now() }],
      tools: [weatherTool],
    };
    const first = await stream(model(), context, options).result();
    expect(first.errorMessage).toBeUndefined();
    expect(first.stopReason).toBe('toolUse');
    const call = first.content.find((block) => block.type === 'toolCall');
    expect(call).toMatchObject({ name: 'get_weather', arguments: { city: 'Paris' } });

    context.messages.push(first, {
      role: 'toolResult',
      toolCallId: call!.id,
      toolName: 'get_weather',
      content: [{ type: 'text', text: '22°C, sunny' }],
      isError: false,
      timestamp: Date.now(),
    });
    const second = await stream(model(), context, options).result();
    expect(second.content).toMatchObject([{ type: 'text', text: 'Sunny.' }]);
    const [, followUp] = fake.requests as [RecordedRequest, RecordedRequest];
    expect(target.hasToolResult(followUp.json(), call!.id)).toBe(true);
  });

  it('reports an upstream HTTP error as an error event', async () => {
    fake = await target.start({ httpError: target.httpError });
    const message = await stream(model(), { messages: [{ role: 'user', content: 'hi', timestamp: 0 }] }, options).result();
    expect(message.stopReason).toBe('error');
    expect(message.errorMessage).toMatch(target.errorMessage);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('pi-ai openai-codex-responses with its default transport', () => {
  it('falls back to SSE when the fake refuses the WebSocket upgrade', async () => {
    const fake = await startOpenAIResponsesFake({ text: ['via SSE'] }, { flavor: 'codex' });
    try {
      const model: Model<'openai-codex-responses'> = {
        id: 'fake-model',
        name: 'Fake model',
        api: 'openai-codex-responses',
        provider: 'openai-codex',
        baseUrl: fake.url,
        reasoning: false,
        input: ['text'],
        cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
        contextWindow: 200_000,
        maxTokens: 4096,
      };
      const context: Context = { messages: [{ role: 'user', content: 'hi', timestamp: 0 }] };
      const message = await stream(model, context, { apiKey: fakeCodexJwt() }).result();
      expect(message.content).toMatchObject([{ type: 'text', text: 'via SSE' }]);
      expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', path: '/codex/responses' });
    } finally {
      await fake.close();
    }
  });
});
