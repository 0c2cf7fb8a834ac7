import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeScript } from '../fakes/fake-turn.js';
import type { RecordedJson } from '../fakes/fake-upstream.js';
import { geminiApiKey, startGeminiFake } from '../fakes/gemini.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { WEATHER_TOOL } from '../support/responses-fixtures.js';

const USER_KEY = 'piapi-user-gemini-00001';
const GEMINI_KEY = 'AIzaSy-fake-gemini-key-0001';

const script: FakeScript = (req) => {
  const text = req.text();
  if (text.includes('please-429')) return { httpError: { status: 429, message: 'Resource has been exhausted (e.g. check quota).', headers: { 'retry-after': '9' } } };
  if (text.includes('tool-result-marker')) return { text: ['It is ', 'sunny.'] };
  if (text.includes('please-weather')) return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] };
  return { text: ['Hello', ' from', ' Gemini'], usage: { inputTokens: 12, outputTokens: 7, reasoningTokens: 4, cacheReadTokens: 100 } };
};

/** Every `parts[]` entry of the recorded request's contents, with the role of its content. */
const parts = (body: RecordedJson): RecordedJson[] =>
  body.contents.flatMap((c: RecordedJson) => c.parts.map((p: RecordedJson) => ({ role: c.role, ...p })));

describe('/v1/responses and /v1/messages → Gemini (google-generative-ai)', () => {
  let fake: ProviderFake;
  let gw: TestGateway;
  let openai: OpenAI;

  beforeAll(async () => {
    fake = await startGeminiFake(script);
    gw = await startTestGateway(`
providers:
  - name: gemini
    apiKeys: { main: ${GEMINI_KEY} }
    llm:
      provider: google
      api: google-generative-ai
      baseUrl: ${fake.url}/v1beta
      defaultModel: gemini-2.5-flash
models:
  gpt-5.1-codex-mini: gemini-2.5-flash
  claude-sonnet-4-6: gemini-2.5-flash
users:
  - { name: gina, apiKey: ${USER_KEY}, providerName: gemini, providerKeyName: main }
`);
    openai = new OpenAI({ apiKey: USER_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });

  it('streams a text answer from the model path with the provider key, and reports Gemini usage', async () => {
    const stream = await openai.responses.create({ model: 'gpt-5.1-codex-mini', instructions: 'Be brief.', input: 'say hi', stream: true });
    const deltas: string[] = [];
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') deltas.push(event.delta);
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(deltas).toEqual(['Hello', ' from', ' Gemini']);
    expect(completed?.output_text ?? completed?.output).toBeTruthy();
    // promptTokenCount 112 with 100 cached; thoughts count as output, and apart as reasoning.
    expect(completed?.usage).toMatchObject({
      input_tokens: 112,
      input_tokens_details: { cached_tokens: 100 },
      output_tokens: 7,
      output_tokens_details: { reasoning_tokens: 4 },
    });

    const upstream = fake.requests.at(-1)!;
    expect(upstream.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    expect(upstream.query.get('alt')).toBe('sse');
    expect(geminiApiKey(upstream)).toBe(GEMINI_KEY);
    expect(upstream.headers['x-goog-api-key']).toBe(GEMINI_KEY);
    expect(JSON.stringify(upstream.headers)).not.toContain(USER_KEY);
    const body = upstream.json<RecordedJson>();
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'say hi' }] }]);
    expect(JSON.stringify(body.systemInstruction)).toContain('Be brief.');
  });

  it('round-trips a function call: the output goes back as a functionResponse named after the call', async () => {
    const first = await openai.responses.create({ model: 'gpt-5.1-codex-mini', input: 'please-weather in Paris', tools: [WEATHER_TOOL] });
    const offered = fake.requests.at(-1)!.json<RecordedJson>();
    expect(offered.tools[0].functionDeclarations).toMatchObject([{ name: 'get_weather', parametersJsonSchema: { required: ['city'] } }]);
    const call = first.output.find((i) => i.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });
    expect(JSON.parse(call.arguments)).toEqual({ city: 'Paris' });
    expect(call.call_id).toBeTruthy();

    const second = await openai.responses.create({
      model: 'gpt-5.1-codex-mini',
      tools: [WEATHER_TOOL],
      input: [
        { role: 'user', content: 'please-weather in Paris' },
        { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: 'tool-result-marker: 21C' },
      ],
    });
    expect(second.output_text).toBe('It is sunny.');
    const sent = parts(fake.requests.at(-1)!.json());
    expect(sent.find((p) => p.functionCall)).toMatchObject({ role: 'model', functionCall: { name: 'get_weather', args: { city: 'Paris' } } });
    expect(sent.find((p) => p.functionResponse)).toEqual({
      role: 'user',
      functionResponse: { name: 'get_weather', response: { output: 'tool-result-marker: 21C' } },
    });
  });

  it('answers an upstream 429 with HTTP 429 in the OpenAI error format, retry-after kept', async () => {
    const before = fake.requests.length;
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${USER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5.1-codex-mini', input: 'please-429', stream: true }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('9');
    const body = (await res.json()) as RecordedJson;
    expect(body).toMatchObject({ error: { type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null } });
    expect(body.error.message).toContain('Resource has been exhausted');
    expect(fake.requests.length - before).toBe(1);
  });

  it('answers a /v1/messages turn through the Anthropic SDK', async () => {
    const anthropic = new Anthropic({ apiKey: USER_KEY, baseURL: gw.url, maxRetries: 0 });
    const message = await anthropic.messages
      .stream({ model: 'claude-sonnet-4-6', max_tokens: 256, system: 'Answer in English.', messages: [{ role: 'user', content: 'say hi' }] })
      .finalMessage();
    expect(message.content).toMatchObject([{ type: 'text', text: 'Hello from Gemini' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({ input_tokens: 12, cache_read_input_tokens: 100, output_tokens: 7 });

    const upstream = fake.requests.at(-1)!;
    expect(upstream.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    expect(geminiApiKey(upstream)).toBe(GEMINI_KEY);
    const body = upstream.json<RecordedJson>();
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'say hi' }] }]);
    expect(JSON.stringify(body.systemInstruction)).toContain('Answer in English.');
  });
});

/**
 * Gemini 3 answers 400 to a function call of the current turn without its thought signature,
 * and neither Codex nor Claude Code can keep one: the history they send back gets Google's
 * stand-in (src/messages/gemini/thought-signatures.ts). The fake checks as the API does.
 */
describe.each([
  { api: 'google-generative-ai', provider: 'google', path: '/v1beta' },
  { api: 'google-vertex', provider: 'google-vertex', path: '/v1' },
])('Gemini 3 tool round trips on $api', ({ api, provider, path }) => {
  let fake: ProviderFake;
  let gw: TestGateway;
  let openai: OpenAI;

  beforeAll(async () => {
    fake = await startGeminiFake(script);
    gw = await startTestGateway(`
providers:
  - name: gemini
    apiKeys: { main: ${GEMINI_KEY} }
    llm: { provider: ${provider}, api: ${api}, baseUrl: ${fake.url}${path}, defaultModel: gemini-3-pro-preview }
models:
  gpt-5.1-codex: gemini-3-pro-preview
  claude-sonnet-4-6: gemini-3-pro-preview
users:
  - { name: gina, apiKey: ${USER_KEY}, providerName: gemini, providerKeyName: main }
`);
    openai = new OpenAI({ apiKey: USER_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });

  it('/v1/responses: the follow-up after a function call is accepted, its call signed with the stand-in', async () => {
    const first = await openai.responses.create({ model: 'gpt-5.1-codex', input: 'please-weather in Paris', tools: [WEATHER_TOOL] });
    const call = first.output.find((i) => i.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    const second = await openai.responses.create({
      model: 'gpt-5.1-codex',
      tools: [WEATHER_TOOL],
      input: [
        { role: 'user', content: 'please-weather in Paris' },
        { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: 'tool-result-marker: 21C' },
      ],
    });
    expect(second.output_text).toBe('It is sunny.');
    expect(parts(fake.requests.at(-1)!.json()).find((p) => p.functionCall)).toMatchObject({
      role: 'model',
      functionCall: { name: 'get_weather' },
      thoughtSignature: 'skip_thought_signature_validator',
    });
  });

  it('/v1/messages: a tool_use history from Claude Code is accepted too', async () => {
    const anthropic = new Anthropic({ apiKey: USER_KEY, baseURL: gw.url, maxRetries: 0 });
    const tools = [{ name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } }];
    const first = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 200, tools, messages: [{ role: 'user', content: 'please-weather in Paris' }] });
    const use = first.content.find((b) => b.type === 'tool_use')!;
    const second = await anthropic.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 200,
      tools,
      messages: [
        { role: 'user', content: 'please-weather in Paris' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'tool-result-marker: 21C' }] },
      ],
    });
    expect(second.content).toMatchObject([{ type: 'text', text: 'It is sunny.' }]);
  });
});
