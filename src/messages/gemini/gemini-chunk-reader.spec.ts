import { createAssistantMessageEventStream, type Api, type AssistantMessageEvent, type Model } from '@mariozechner/pi-ai';
import { describe, expect, it } from 'vitest';
import { emptyAssistantMessage } from '../empty-message.js';
import { GeminiChunkReader } from './gemini-chunk-reader.js';
import type { GeminiChunk, GeminiError } from './gemini-wire.js';

const model = {
  id: 'gemini-2.5-flash',
  name: 'Gemini',
  api: 'google-generative-ai',
  provider: 'google',
  baseUrl: 'http://127.0.0.1/v1beta',
  reasoning: true,
  input: ['text'],
  cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
  contextWindow: 1_000_000,
  maxTokens: 65_536,
} satisfies Model<Api>;

const text = (value: string, extra: Partial<GeminiChunk> = {}, finishReason?: string): GeminiChunk => ({
  candidates: [{ content: { role: 'model', parts: [{ text: value }] }, index: 0, ...(finishReason ? { finishReason } : {}) }],
  responseId: 'resp_1',
  ...extra,
});
const usageMetadata = { promptTokenCount: 12, candidatesTokenCount: 3, totalTokenCount: 15 };

/** Reads the chunks; what end() throws, if anything, and the events pushed. */
function read(chunks: Array<GeminiChunk | GeminiError>): { error: string | undefined; events: AssistantMessageEvent[]; reader: GeminiChunkReader } {
  const output = emptyAssistantMessage(model, 'stop');
  const events: AssistantMessageEvent[] = [];
  const stream = createAssistantMessageEventStream();
  stream.push = (event) => events.push(event);
  const reader = new GeminiChunkReader(output, stream, model);
  try {
    for (const chunk of chunks) reader.push(chunk);
    reader.end();
    return { error: undefined, events, reader };
  } catch (err) {
    return { error: (err as Error).message, events, reader };
  }
}

describe('GeminiChunkReader', () => {
  it('reads a finished answer: text deltas, then the finish reason and usage of the last chunk', () => {
    const { error, events } = read([text('Hel'), text('lo', { usageMetadata }, 'STOP')]);
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(['text_start', 'text_delta', 'text_delta', 'text_end']);
    const last = events.at(-1) as Extract<AssistantMessageEvent, { type: 'text_end' }>;
    expect(last.partial).toMatchObject({ content: [{ type: 'text', text: 'Hello' }], stopReason: 'stop', responseId: 'resp_1', usage: { input: 12, output: 3 } });
  });

  it('fails on an error chunk after some text, with Google’s error body in the message', () => {
    const failure = { error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } };
    const { error, events } = read([text('Partial'), failure, text(' more', {}, 'STOP')]);
    expect(error).toBe(`got status: UNAVAILABLE. ${JSON.stringify(failure)}`);
    expect(events.map((e) => e.type)).toEqual(['text_start', 'text_delta']);
  });

  it('fails a stream that ended before any candidate had a finishReason, even with usage on every chunk', () => {
    const { error, events } = read([text('Partial', { usageMetadata }), text(' answer', { usageMetadata })]);
    expect(error).toBe('Gemini stream ended before a candidate had a finishReason');
    // The open block is closed first, so the partial message is whole for the error event.
    expect(events.at(-1)).toMatchObject({ type: 'text_end', content: 'Partial answer' });
  });

  it('takes a finish reason that comes in a chunk of its own, without parts', () => {
    const { error } = read([text('Done'), { candidates: [{ finishReason: 'MAX_TOKENS', index: 0 }], usageMetadata }]);
    expect(error).toBeUndefined();
  });

  it('fails a safety stop in pi-ai’s chat-completions wording, which reads as a refusal', () => {
    expect(read([text('I', {}, 'SAFETY')]).error).toBe('Provider finish_reason: SAFETY');
    expect(read([text('x', {}, 'MALFORMED_FUNCTION_CALL')]).error).toBe('Provider finish_reason: MALFORMED_FUNCTION_CALL');
  });

  it('fails a blocked prompt, which comes with no candidates', () => {
    expect(read([{ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata }]).error).toMatch(/blocked the prompt: promptFeedback.blockReason PROHIBITED_CONTENT/);
  });

  it('reads thoughts, text and a whole function call as separate blocks, the stop reason toolUse', () => {
    const { error, events } = read([
      { candidates: [{ content: { parts: [{ text: 'hmm', thought: true }] } }] },
      text('Let me look.'),
      { candidates: [{ content: { parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2ln' }] }, finishReason: 'STOP' }] },
    ]);
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual([
      'thinking_start',
      'thinking_delta',
      'thinking_end',
      'text_start',
      'text_delta',
      'text_end',
      'toolcall_start',
      'toolcall_delta',
      'toolcall_end',
    ]);
    expect(events.at(-1)).toMatchObject({
      toolCall: { type: 'toolCall', name: 'get_weather', arguments: { city: 'Paris' }, thoughtSignature: 'c2ln', id: expect.stringMatching(/^get_weather_/) },
      partial: { stopReason: 'toolUse' },
    });
  });
});
