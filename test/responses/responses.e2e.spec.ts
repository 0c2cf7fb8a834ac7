import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import { startChatCompletionsFake } from '../fakes/chat-completions.fake.js';
import { fakeCodexJwt } from '../fakes/fake-jwt.js';
import type { FakeScript, FakeTurn } from '../fakes/fake-turn.js';
import type { RecordedJson } from '../fakes/fake-upstream.js';
import { startOpenAIResponsesFake } from '../fakes/openai-responses.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { WEATHER_TOOL } from '../support/responses-fixtures.js';

const USER_KEY = 'piapi-user-responses-00001';

interface Target {
  name: string;
  api: string;
  provider: string;
  start: (script: FakeScript) => Promise<ProviderFake>;
  baseUrl: (fake: ProviderFake) => string;
  key: string;
  path: string;
  /** The tool call ids and results as this upstream carries them. */
  toolResultId: (body: RecordedJson) => string | undefined;
  toolNames: (body: RecordedJson) => string[];
  toolCallArguments: (body: RecordedJson) => unknown;
  /** `output_tokens_details.reasoning_tokens` for an answer whose upstream counted 2 (only Codex reports them apart). */
  reasoningTokens: number;
}

const TARGETS: Target[] = [
  {
    name: 'anthropic-messages',
    api: 'anthropic-messages',
    provider: 'anthropic',
    start: (s) => startAnthropicMessagesFake(s),
    baseUrl: (f) => f.url,
    key: 'fake-anthropic-key-resp-0001',
    path: '/v1/messages',
    reasoningTokens: 0,
    toolResultId: (b) => b.messages.flatMap((m: RecordedJson) => (Array.isArray(m.content) ? m.content : [])).find((c: RecordedJson) => c.type === 'tool_result')?.tool_use_id,
    toolNames: (b) => (b.tools ?? []).map((t: RecordedJson) => t.name),
    toolCallArguments: (b) => b.messages.flatMap((m: RecordedJson) => (Array.isArray(m.content) ? m.content : [])).find((c: RecordedJson) => c.type === 'tool_use')?.input,
  },
  {
    name: 'openai-completions',
    api: 'openai-completions',
    provider: 'openai',
    start: (s) => startChatCompletionsFake(s),
    baseUrl: (f) => `${f.url}/v1`,
    key: 'sk-chat-resp-secret-0002',
    path: '/v1/chat/completions',
    reasoningTokens: 0,
    toolResultId: (b) => b.messages.find((m: RecordedJson) => m.role === 'tool')?.tool_call_id,
    toolNames: (b) => (b.tools ?? []).map((t: RecordedJson) => t.function.name),
    toolCallArguments: (b) => {
      const call = b.messages.find((m: RecordedJson) => m.tool_calls)?.tool_calls[0];
      return call ? JSON.parse(call.function.arguments) : undefined;
    },
  },
  {
    name: 'openai-codex-responses',
    api: 'openai-codex-responses',
    provider: 'openai-codex',
    start: (s) => startOpenAIResponsesFake(s, { flavor: 'codex' }),
    baseUrl: (f) => f.url,
    key: fakeCodexJwt({ accountId: 'acc-resp-e2e' }),
    path: '/codex/responses',
    reasoningTokens: 2,
    toolResultId: (b) => b.input.find((i: RecordedJson) => i.type === 'function_call_output')?.call_id,
    toolNames: (b) => (b.tools ?? []).map((t: RecordedJson) => t.name),
    toolCallArguments: (b) => {
      const call = b.input.find((i: RecordedJson) => i.type === 'function_call');
      return call ? JSON.parse(call.arguments) : undefined;
    },
  },
];

const APPLY_PATCH_TOOL = {
  type: 'custom' as const,
  name: 'apply_patch',
  description: 'Edit files with a patch.',
  format: { type: 'grammar' as const, syntax: 'lark' as const, definition: 'start: "*** Begin Patch" LF' },
};
const NAMESPACE_TOOL = {
  type: 'namespace',
  name: 'multi_agent_v1',
  description: 'Sub-agents.',
  tools: [{ type: 'function', name: 'spawn_agent', description: 'Spawn one', strict: false, parameters: { type: 'object', properties: { task: { type: 'string' } } } }],
};
const PATCH = '*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n';

function script(target: Target): FakeScript {
  return (req) => {
    const text = req.text();
    const turn = (t: FakeTurn) => t;
    if (text.includes('tool-result-marker')) return turn({ text: ['It is ', 'sunny.'], usage: { inputTokens: 30, outputTokens: 4 } });
    if (text.includes('patch-result-marker')) return turn({ text: ['Patched.'] });
    if (text.includes('please-weather')) return turn({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    if (text.includes('please-patch')) return turn({ toolCalls: [{ name: 'apply_patch', arguments: { input: PATCH } }] });
    if (text.includes('please-spawn')) return turn({ toolCalls: [{ name: 'multi_agent_v1__spawn_agent', arguments: { task: 'lint' } }] });
    if (text.includes('please-truncate')) return turn({ text: ['Once upon'], stopReason: 'length' });
    return turn({ text: ['Hello', ' from ', target.name], usage: { inputTokens: 12, outputTokens: 3, reasoningTokens: 2, cacheReadTokens: 100 } });
  };
}

describe.each(TARGETS)('/v1/responses → $name', (target) => {
  let fake: ProviderFake;
  let gw: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await target.start(script(target));
    gw = await startTestGateway(`
providers:
  - name: target
    apiKeys: { main: ${JSON.stringify(target.key)} }
    llm:
      provider: ${target.provider}
      api: ${target.api}
      baseUrl: ${target.baseUrl(fake)}
      defaultModel: test-model-default
models:
  gpt-5.1-codex-mini: test-model-mapped
users:
  - { name: rita, apiKey: ${USER_KEY}, providerName: target, providerKeyName: main }
`);
    client = new OpenAI({ apiKey: USER_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });

  it('streams a text answer whose events the SDK parses in order, numbered, with usage', async () => {
    const stream = await client.responses.create({ model: 'gpt-5.1-codex-mini', input: 'say hi', stream: true });
    const events: { type: string; sequence_number: number }[] = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(completed.response.model).toBe('gpt-5.1-codex-mini');
    expect(completed.response.status).toBe('completed');
    expect(completed.response.output_text ?? completed.response.output).toBeTruthy();
    const message = completed.response.output[0] as OpenAI.Responses.ResponseOutputMessage;
    expect(message.content[0]).toMatchObject({ type: 'output_text', text: `Hello from ${target.name}` });
    const added = events[2] as OpenAI.Responses.ResponseOutputItemAddedEvent;
    expect(added.item.id).toBe(message.id);
    expect(completed.response.usage).toMatchObject({
      input_tokens: 112,
      input_tokens_details: { cached_tokens: 100 },
      output_tokens: 3,
      output_tokens_details: { reasoning_tokens: target.reasoningTokens },
      total_tokens: 115,
    });
    const upstream = fake.requests.at(-1)!;
    expect(upstream.path).toBe(target.path);
    expect(JSON.stringify(upstream.json())).toContain('test-model-mapped');
    expect(JSON.stringify(upstream.headers)).not.toContain(USER_KEY);
  });

  it('answers a non-stream request with the same response object', async () => {
    const response = await client.responses.create({ model: 'gpt-5.1-codex-mini', instructions: 'Be brief.', input: 'say hi' });
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe(`Hello from ${target.name}`);
    expect(response.usage?.output_tokens).toBe(3);
    expect(JSON.stringify(fake.requests.at(-1)!.json())).toContain('Be brief.');
  });

  it('gives responses.stream().finalResponse() the whole answer', async () => {
    const final = await client.responses.stream({ model: 'gpt-5.1-codex-mini', input: [{ role: 'user', content: 'say hi' }] }).finalResponse();
    expect(final.output_text).toBe(`Hello from ${target.name}`);
  });

  it('round-trips a function call: the call id the target issued reaches it again with the output', async () => {
    const first = await client.responses.create({ model: 'gpt-5.1-codex-mini', input: 'please-weather in Paris', tools: [WEATHER_TOOL], stream: false });
    const call = first.output.find((i) => i.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });
    expect(JSON.parse(call.arguments)).toEqual({ city: 'Paris' });
    const second = await client.responses.create({
      model: 'gpt-5.1-codex-mini',
      tools: [WEATHER_TOOL],
      input: [
        { role: 'user', content: 'please-weather in Paris' },
        { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: 'tool-result-marker: 21C' },
      ],
    });
    expect(second.output_text).toBe('It is sunny.');
    const upstream = fake.requests.at(-1)!.json<RecordedJson>();
    expect(target.toolResultId(upstream)).toBe(call.call_id.split('|')[0]);
    expect(target.toolCallArguments(upstream)).toEqual({ city: 'Paris' });
  });

  it('offers a custom freeform tool as a function with one string and turns the call back into a custom_tool_call', async () => {
    const first = await client.responses.create({ model: 'gpt-5.1-codex-mini', input: 'please-patch', tools: [APPLY_PATCH_TOOL, { type: 'web_search' }] });
    const offered = fake.requests.at(-1)!.json<RecordedJson>();
    expect(target.toolNames(offered)).toEqual(['apply_patch']);
    expect(JSON.stringify(offered)).toContain('raw text, not JSON');
    const call = first.output.find((i) => i.type === 'custom_tool_call') as OpenAI.Responses.ResponseCustomToolCall;
    expect(call).toMatchObject({ type: 'custom_tool_call', name: 'apply_patch', input: PATCH });
    const second = await client.responses.create({
      model: 'gpt-5.1-codex-mini',
      tools: [APPLY_PATCH_TOOL],
      input: [
        { role: 'user', content: 'please-patch' },
        { type: 'custom_tool_call', call_id: call.call_id, name: 'apply_patch', input: call.input },
        { type: 'custom_tool_call_output', call_id: call.call_id, output: 'patch-result-marker: done' },
      ],
    });
    expect(second.output_text).toBe('Patched.');
    const upstream = fake.requests.at(-1)!.json<RecordedJson>();
    expect(target.toolCallArguments(upstream)).toEqual({ input: PATCH });
    expect(target.toolResultId(upstream)).toBe(call.call_id.split('|')[0]);
  });

  it('calls namespace members under a flat name and answers with name and namespace apart', async () => {
    const response = await client.responses.create({ model: 'gpt-5.1-codex-mini', input: 'please-spawn', tools: [NAMESPACE_TOOL as never] });
    expect(target.toolNames(fake.requests.at(-1)!.json())).toEqual(['multi_agent_v1__spawn_agent']);
    expect(response.output.find((i) => i.type === 'function_call')).toMatchObject({ name: 'spawn_agent', namespace: 'multi_agent_v1' });
  });

  it('reports a truncated answer as response.incomplete with reason max_output_tokens', async () => {
    const stream = await client.responses.create({ model: 'gpt-5.1-codex-mini', input: 'please-truncate', max_output_tokens: 16, stream: true });
    const types: string[] = [];
    let last: OpenAI.Responses.ResponseStreamEvent | undefined;
    for await (const event of stream) {
      types.push(event.type);
      last = event;
    }
    expect(types).not.toContain('response.completed');
    expect(last?.type).toBe('response.incomplete');
    const response = (last as OpenAI.Responses.ResponseIncompleteEvent).response;
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.output_text ?? '').toBe('');
  });
});

describe('GET /v1/models for both kinds of client', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(`
providers:
  - name: claude
    apiKeys: { main: fake-anthropic-models-0001 }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: http://127.0.0.1:9, defaultModel: claude-test }
models:
  gpt-5.1-codex-mini: claude-haiku-4-5
users:
  - { name: rita, apiKey: ${USER_KEY}, providerName: claude, providerKeyName: main }
`);
  });
  afterAll(() => gw.stop());

  it('lists models in OpenAI format for the OpenAI SDK', async () => {
    const client = new OpenAI({ apiKey: USER_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models.find((m) => m.id === 'gpt-5.1-codex-mini')).toEqual({ id: 'gpt-5.1-codex-mini', object: 'model', created: 0, owned_by: 'claude' });
    expect(models.length).toBeGreaterThan(1);
  });

  it('keeps the Anthropic list format for a client that sends anthropic-version', async () => {
    const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${USER_KEY}`, 'anthropic-version': '2023-06-01' } });
    const body = (await res.json()) as { data: { type: string }[]; has_more: boolean; object?: string };
    expect(body.object).toBeUndefined();
    expect(body.data[0].type).toBe('model');
    expect(body.has_more).toBe(false);
  });
});
