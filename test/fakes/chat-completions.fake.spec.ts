import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startChatCompletionsFake } from './chat-completions.fake.js';
import type { ProviderFake } from './provider-fake.js';

const messages = [{ role: 'user' as const, content: 'hi' }];

describe('startChatCompletionsFake, read by the official openai SDK', () => {
  let fake: ProviderFake | undefined;
  afterEach(() => fake?.close());

  const client = (): OpenAI => new OpenAI({ apiKey: 'sk-test', baseURL: `${fake!.url}/v1`, maxRetries: 0 });

  it('streams content deltas and a final usage chunk when include_usage is set', async () => {
    fake = await startChatCompletionsFake({ text: ['Hel', 'lo'], usage: { inputTokens: 4, cacheReadTokens: 6 } });
    const stream = client().chat.completions.stream({
      model: 'gpt-test',
      messages,
      stream_options: { include_usage: true },
    });
    const completion = await stream.finalChatCompletion();
    expect(completion.choices[0].message.content).toBe('Hello');
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject({ prompt_tokens: 10, prompt_tokens_details: { cached_tokens: 6 } });
    const raw = fake.requests[0];
    expect(raw.path).toBe('/v1/chat/completions');
  });

  it('streams tool_calls deltas that the SDK assembles', async () => {
    fake = await startChatCompletionsFake({
      toolCalls: [
        { name: 'a', arguments: { x: 1 } },
        { name: 'b', arguments: { y: 'two' } },
      ],
    });
    const completion = await client().chat.completions.stream({ model: 'm', messages }).finalChatCompletion();
    const choice = completion.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.tool_calls).toMatchObject([
      { type: 'function', function: { name: 'a', arguments: '{"x":1}' } },
      { type: 'function', function: { name: 'b', arguments: '{"y":"two"}' } },
    ]);
    expect(choice.message.tool_calls![0].id).toMatch(/^call_/);
  });

  it('sends data-only events, usage null on chunks, and ends with [DONE]', async () => {
    fake = await startChatCompletionsFake({ text: ['x'] });
    const res = await fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm', messages, stream: true, stream_options: { include_usage: true } }),
    });
    const text = await res.text();
    expect(text).not.toContain('event:');
    expect(text).toContain('"usage":null');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('answers non-streaming requests with a chat.completion', async () => {
    fake = await startChatCompletionsFake({ text: ['Hi'] });
    const completion = await client().chat.completions.create({ model: 'm', messages });
    expect(completion.choices[0].message.content).toBe('Hi');
  });

  it('makes the SDK throw on an in-stream error chunk', async () => {
    fake = await startChatCompletionsFake({ text: ['x'], streamError: { message: 'upstream broke' } });
    await expect(client().chat.completions.stream({ model: 'm', messages }).finalChatCompletion()).rejects.toThrow(
      /upstream broke/,
    );
  });

  it('answers HTTP errors with OpenAI error bodies', async () => {
    fake = await startChatCompletionsFake({ httpError: { status: 500, message: 'oops' } });
    await expect(client().chat.completions.create({ model: 'm', messages })).rejects.toBeInstanceOf(
      OpenAI.InternalServerError,
    );
  });
});
