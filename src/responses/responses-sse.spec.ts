import { describe, expect, it } from 'vitest';
import type { ResponsesStreamEvent } from './response-encoder.js';
import { encodeResponsesEvents, framesText } from './responses-sse.js';

function frames(encoded: string | Buffer[]): { event: string; data: unknown }[] {
  return framesText(encoded)
    .split('\n\n')
    .filter(Boolean)
    .map((frame) => {
      const [event, data] = frame.split('\n');
      return { event: event.slice('event: '.length), data: JSON.parse(data.slice('data: '.length)) as unknown };
    });
}

describe('encodeResponsesEvents', () => {
  const tools = [{ type: 'function', name: 'shell', parameters: { type: 'object', properties: { cmd: { type: 'string', description: 'a "quoted" \\ path' } } } }];
  const instructions = 'You are Codex. Use "apply_patch" to edit files.\n\u2028 — ünïcode, \\ and 🙈';
  const created = { type: 'response.created', sequence_number: 0, response: { id: 'resp_1', instructions, output: [], tools, usage: null } };
  const delta = { type: 'response.output_text.delta', sequence_number: 1, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'hi\n' };
  const bare = { type: 'response.completed', sequence_number: 2, response: { id: 'resp_1', output: [], tools: [] } };

  it('writes each event as an SSE frame named by its type, whose data parses to the event', () => {
    const events = [created, delta, bare] as unknown as ResponsesStreamEvent[];
    const out = encodeResponsesEvents(events);
    expect(framesText(out).endsWith('\n\n')).toBe(true);
    expect(frames(out)).toEqual(events.map((e) => ({ event: e.type, data: e })));
  });

  it("gives exactly JSON.stringify's bytes, with the echoed instructions and tools where they were", () => {
    const completed = { ...created, type: 'response.completed', sequence_number: 9, response: { ...created.response, output: [{ type: 'message', text: 'done' }], usage: { total_tokens: 3 } } };
    const noInstructions = { ...created, sequence_number: 10, response: { ...created.response, instructions: null } };
    const noTools = { ...created, sequence_number: 11, response: { ...created.response, tools: [] } };
    const events = [created, delta, completed, noInstructions, noTools, bare] as unknown as ResponsesStreamEvent[];
    const expected = events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
    expect(framesText(encodeResponsesEvents(events))).toBe(expected);
    // And again, from the encodings kept.
    expect(framesText(encodeResponsesEvents(events))).toBe(expected);
  });

  it('echoes instructions that differ by request, each its own', () => {
    const other = { ...created, response: { ...created.response, instructions: 'Other instructions' } };
    const [first, second] = frames(encodeResponsesEvents([created, other]));
    expect((first.data as { response: { instructions: string } }).response.instructions).toBe(instructions);
    expect((second.data as { response: { instructions: string } }).response.instructions).toBe('Other instructions');
  });

  it('gives the same JSON for the echoed tools every time, serialized once per tools array', () => {
    const again = { ...created, sequence_number: 5, response: { ...created.response, id: 'resp_2' } };
    const [first, second] = frames(encodeResponsesEvents([created, again]));
    expect((first.data as { response: { tools: unknown } }).response.tools).toEqual(tools);
    expect(second.data).toEqual(again);
  });
});
