import { describe, expect, it } from 'vitest';
import { UsageTap } from './usage-tap.js';

function feed(tap: UsageTap, text: string, pieces: number): void {
  const bytes = Buffer.from(text);
  const size = Math.ceil(bytes.length / pieces);
  for (let i = 0; i < bytes.length; i += size) tap.push(bytes.subarray(i, i + size));
}

const sse = (events: object[]) => events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('');

describe('UsageTap', () => {
  it('reads Anthropic usage from message_start and message_delta split across any chunking', () => {
    const text = sse([
      { type: 'message_start', message: { model: 'claude-x', usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 4, cache_creation_input_tokens: 2 } } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'usage is a word' } },
      { type: 'message_delta', usage: { output_tokens: 42 } },
    ]);
    for (const pieces of [1, 3, 17, text.length]) {
      const tap = new UsageTap('text/event-stream');
      feed(tap, text, pieces);
      expect(tap.result()).toEqual({ model: 'claude-x', input: 10, output: 42, cacheRead: 4, cacheWrite: 2 });
    }
  });

  it('reads usage from a stream written event by event, most events of no interest', () => {
    const events = [
      { type: 'response.created', response: { model: 'gpt-x', usage: null } },
      ...Array.from({ length: 20 }, (_, i) => ({ type: 'response.output_text.delta', delta: i === 3 ? 'the word usage, and "model"' : `d${i}` })),
      { type: 'response.completed', response: { model: 'gpt-x', usage: { input_tokens: 12, output_tokens: 34 } } },
    ];
    const tap = new UsageTap('text/event-stream');
    for (const event of events) tap.push(Buffer.from(sse([event])));
    expect(tap.result()).toEqual({ model: 'gpt-x', input: 12, output: 34, cacheRead: 0, cacheWrite: 0 });
    // The same events with the completion cut over two chunks, the first ending mid-line.
    const cut = new UsageTap('text/event-stream');
    for (const event of events.slice(0, -1)) cut.push(Buffer.from(sse([event])));
    const last = Buffer.from(sse(events.slice(-1)));
    cut.push(last.subarray(0, 20));
    cut.push(last.subarray(20));
    expect(cut.result()).toEqual({ model: 'gpt-x', input: 12, output: 34, cacheRead: 0, cacheWrite: 0 });
  });

  it('reports OpenAI cached tokens apart from input tokens', () => {
    const tap = new UsageTap('text/event-stream; charset=utf-8');
    feed(tap, sse([{ type: 'response.completed', response: { model: 'gpt-x', usage: { input_tokens: 100, input_tokens_details: { cached_tokens: 30 }, output_tokens: 7 } } }]), 5);
    expect(tap.result()).toEqual({ model: 'gpt-x', input: 70, output: 7, cacheRead: 30, cacheWrite: 0 });
  });

  it('reads chat completions usage from the final chunk', () => {
    const tap = new UsageTap('text/event-stream');
    feed(tap, sse([{ object: 'chat.completion.chunk', model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: 3 } }]) + 'data: [DONE]\n\n', 2);
    expect(tap.result()).toMatchObject({ input: 5, output: 3 });
  });

  it('finds usage at the end of a large JSON body from its tail alone', () => {
    const body = JSON.stringify({ id: 'msg', type: 'message', model: 'claude-x', content: [{ type: 'text', text: 'x'.repeat(200_000) }], usage: { input_tokens: 9, output_tokens: 8 } });
    const tap = new UsageTap('application/json');
    feed(tap, body, 13);
    expect(tap.result()).toMatchObject({ input: 9, output: 8 });
  });

  it('reports nothing for a body without usage', () => {
    const tap = new UsageTap('application/json');
    feed(tap, '{"ok":true}', 1);
    expect(tap.result()).toBeUndefined();
  });

  it('drops a runaway SSE line instead of holding it', () => {
    const tap = new UsageTap('text/event-stream');
    tap.push(Buffer.from(`data: ${'x'.repeat(300 * 1024)}`));
    tap.push(Buffer.from(`yyy\n\n${sse([{ type: 'message_delta', usage: { output_tokens: 1 } }])}`));
    expect(tap.result()).toMatchObject({ output: 1 });
    // A runaway line ended by a chunk of no interest: the next line is read again.
    const after = new UsageTap('text/event-stream');
    after.push(Buffer.from(`data: ${'x'.repeat(300 * 1024)}`));
    after.push(Buffer.from('yyy\n\n'));
    after.push(Buffer.from(sse([{ type: 'message_delta', usage: { output_tokens: 2 } }])));
    expect(after.result()).toMatchObject({ output: 2 });
  });
});
