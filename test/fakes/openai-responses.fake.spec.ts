import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeCodexJwt } from './fake-jwt.js';
import { startOpenAIResponsesFake } from './openai-responses.fake.js';
import type { ProviderFake } from './provider-fake.js';

const twentyDeltas = Array.from({ length: 20 }, (_, i) => `w${i} `);

describe('startOpenAIResponsesFake, read by the official openai SDK', () => {
  let fake: ProviderFake | undefined;
  afterEach(() => fake?.close());

  const client = (): OpenAI => new OpenAI({ apiKey: 'sk-test', baseURL: `${fake!.url}/v1`, maxRetries: 0 });

  it('streams text deltas that the SDK assembles into the final response', async () => {
    fake = await startOpenAIResponsesFake({ text: twentyDeltas, usage: { inputTokens: 7, cacheReadTokens: 3 } });
    const stream = client().responses.stream({ model: 'gpt-test', input: 'hi' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(deltas).toEqual(twentyDeltas);
    expect(final.output_text).toBe(twentyDeltas.join(''));
    expect(final.status).toBe('completed');
    expect(final.model).toBe('gpt-test');
    expect(final.usage).toMatchObject({ input_tokens: 10, input_tokens_details: { cached_tokens: 3 } });
    expect(fake.requests[0].path).toBe('/v1/responses');
  });

  it('emits the full event sequence with increasing sequence numbers', async () => {
    fake = await startOpenAIResponsesFake({ text: ['a', 'b'] });
    const types: string[] = [];
    const sequence: number[] = [];
    for await (const event of await client().responses.create({ model: 'm', input: 'hi', stream: true })) {
      types.push(event.type);
      sequence.push(event.sequence_number);
    }
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(sequence).toEqual(types.map((_, i) => i));
  });

  it('streams function calls with call_ and fc_ ids and arguments in deltas', async () => {
    fake = await startOpenAIResponsesFake({
      reasoning: ['Think', 'ing.'],
      toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }],
    });
    const final = await client().responses.stream({ model: 'm', input: 'hi' }).finalResponse();
    const [reasoning, call] = final.output;
    expect(reasoning).toMatchObject({ type: 'reasoning', summary: [{ type: 'summary_text', text: 'Thinking.' }] });
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}' });
    expect(call.type === 'function_call' && call.call_id).toMatch(/^call_/);
    expect(call.id).toMatch(/^fc_/);
  });

  it('answers non-streaming requests with a response object', async () => {
    fake = await startOpenAIResponsesFake({ text: ['Hello', '!'] });
    const response = await client().responses.create({ model: 'm', input: 'hi' });
    expect(response.output_text).toBe('Hello!');
    expect(response.usage?.total_tokens).toBe(15);
  });

  it('answers HTTP errors with OpenAI error bodies', async () => {
    fake = await startOpenAIResponsesFake({ httpError: { status: 429, message: 'slow down' } });
    const error: unknown = await client().responses.create({ model: 'm', input: 'hi' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).error).toMatchObject({
      message: 'slow down',
      code: 'rate_limit_exceeded',
    });
  });

  it('fails the stream with response.failed', async () => {
    fake = await startOpenAIResponsesFake({ text: ['par'], streamError: { message: 'boom' } });
    const events = [];
    for await (const event of await client().responses.create({ model: 'm', input: 'hi', stream: true })) {
      events.push(event);
    }
    expect(events.at(-1)).toMatchObject({
      type: 'response.failed',
      response: { status: 'failed', error: { code: 'server_error', message: 'boom' } },
    });
  });

  it('makes the SDK throw on a bare error event', async () => {
    fake = await startOpenAIResponsesFake({ streamError: { message: 'bad', code: 'oops', bareErrorEvent: true } });
    await expect(client().responses.stream({ model: 'm', input: 'hi' }).finalResponse()).rejects.toThrow(/bad/);
  });

  it('as the codex backend, rejects a request without a matching chatgpt-account-id', async () => {
    fake = await startOpenAIResponsesFake({ text: ['x'] }, { flavor: 'codex' });
    const res = await fetch(`${fake.url}/codex/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fakeCodexJwt({ accountId: 'acct_1' })}`, 'chatgpt-account-id': 'acct_2' },
      body: JSON.stringify({ model: 'm', stream: true, store: false, instructions: 'x', input: [] }),
    });
    expect(res.status).toBe(403);
  });

  it('as the codex backend, requires store false like the ChatGPT backend', async () => {
    fake = await startOpenAIResponsesFake({ text: ['x'] }, { flavor: 'codex' });
    const res = await fetch(`${fake.url}/codex/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fakeCodexJwt({ accountId: 'acct_1' })}`, 'chatgpt-account-id': 'acct_1' },
      body: JSON.stringify({ model: 'm', stream: true, instructions: 'x', input: [] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ detail: 'Store must be set to false' });
  });
});
