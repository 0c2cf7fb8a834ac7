import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from './anthropic-messages.fake.js';
import type { ProviderFake } from './provider-fake.js';

const params = { model: 'claude-test', max_tokens: 1024, messages: [{ role: 'user' as const, content: 'hi' }] };

describe('startAnthropicMessagesFake, read by the official @anthropic-ai/sdk', () => {
  let fake: ProviderFake | undefined;
  afterEach(() => fake?.close());

  const client = (): Anthropic => new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake!.url, maxRetries: 0 });

  it('streams text that the SDK assembles into the final message', async () => {
    fake = await startAnthropicMessagesFake({
      text: ['Hel', 'lo', '!'],
      usage: { inputTokens: 5, cacheReadTokens: 100, cacheWriteTokens: 20, outputTokens: 3 },
    });
    const stream = client().messages.stream(params);
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const message = await stream.finalMessage();
    expect(deltas).toEqual(['Hel', 'lo', '!']);
    expect(message.content).toEqual([{ type: 'text', text: 'Hello!', citations: null }]);
    expect(message).toMatchObject({ model: 'claude-test', stop_reason: 'end_turn' });
    expect(message.usage).toMatchObject({
      input_tokens: 5,
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: 20,
      output_tokens: 3,
    });
  });

  it('streams thinking with a signature, then a tool_use whose input arrives as JSON deltas', async () => {
    fake = await startAnthropicMessagesFake({
      reasoning: ['Let me ', 'check.'],
      toolCalls: [{ name: 'Bash', arguments: { command: 'echo hi' } }],
    });
    const message = await client().messages.stream(params).finalMessage();
    const [thinking, toolUse] = message.content;
    expect(thinking).toMatchObject({ type: 'thinking', thinking: 'Let me check.' });
    expect(thinking.type === 'thinking' && thinking.signature.length).toBeGreaterThan(0);
    expect(toolUse).toMatchObject({ type: 'tool_use', name: 'Bash', input: { command: 'echo hi' } });
    expect(toolUse.type === 'tool_use' && toolUse.id).toMatch(/^toolu_/);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('sends the event sequence Claude Code relies on', async () => {
    fake = await startAnthropicMessagesFake({ text: ['a'] });
    const types: string[] = [];
    for await (const event of await client().messages.create({ ...params, stream: true })) types.push(event.type);
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const raw = await (await fetch(`${fake.url}/v1/messages`, init({ ...params, stream: true }))).text();
    expect(raw).toMatch(/^event: message_start\ndata: \{/);
    expect(raw).toContain('event: ping\ndata: {"type":"ping"}\n\n');
  });

  it('answers non-streaming requests with a message', async () => {
    fake = await startAnthropicMessagesFake({ text: ['Hi', ' there'] });
    const message = await client().messages.create(params);
    expect(message.content).toEqual([{ type: 'text', text: 'Hi there', citations: null }]);
  });

  it('answers HTTP errors with Anthropic error bodies', async () => {
    fake = await startAnthropicMessagesFake({ httpError: { status: 529, message: 'Overloaded' } });
    const error: unknown = await client().messages.create(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(error).toMatchObject({ status: 529, error: { type: 'error', error: { type: 'overloaded_error' } } });
  });

  it('makes the SDK throw on an in-stream error event', async () => {
    fake = await startAnthropicMessagesFake({ text: ['par'], streamError: { message: 'Overloaded' } });
    await expect(client().messages.stream(params).finalMessage()).rejects.toThrow(/Overloaded/);
  });

  it('rejects a request without anthropic-version, as the real API does', async () => {
    fake = await startAnthropicMessagesFake({ text: ['x'] });
    const res = await fetch(`${fake.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { 'x-api-key': 'k' },
      body: JSON.stringify(params),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });
});

function init(body: unknown): RequestInit {
  return {
    method: 'POST',
    headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
}
