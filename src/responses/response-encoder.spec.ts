import type { AssistantMessageEvent } from '@mariozechner/pi-ai';
import { describe, expect, it } from 'vitest';
import { PiEvents, usage } from '../../test/fixtures/messages/pi-events.js';
import { decodeCompaction } from './compaction.js';
import { decodeReasoning } from './reasoning-codec.js';
import { ResponsesEventEncoder, type EncoderOptions, type ResponsesStreamEvent } from './response-encoder.js';
import { validateResponsesRequest } from './responses-request.js';
import { encodeResponsesEvents, framesText } from './responses-sse.js';
import { ToolCatalog } from './tool-catalog.js';

const TOOLS = [
  { type: 'function', name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' } } } },
  { type: 'custom', name: 'apply_patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: x' } },
  { type: 'namespace', name: 'multi_agent_v1', tools: [{ type: 'function', name: 'spawn_agent' }] },
];

function encoder(opts: Partial<EncoderOptions> = {}): ResponsesEventEncoder {
  let next = 0;
  const request = validateResponsesRequest({ model: 'gpt-5.1-codex', input: 'hi', tools: TOOLS, stream: true });
  return new ResponsesEventEncoder({
    model: 'gpt-5.1-codex',
    request,
    tools: new ToolCatalog(request.tools),
    emitSummary: true,
    emitEncrypted: true,
    ids: (prefix) => `${prefix}test${++next}`,
    createdAt: 1_800_000_000,
    ...opts,
  });
}

function encode(events: AssistantMessageEvent[], opts: Partial<EncoderOptions> = {}): ResponsesStreamEvent[] {
  const e = encoder(opts);
  return [...events.flatMap((event) => e.push(event)), ...e.end()];
}

function golden(name: string, events: ResponsesStreamEvent[]): Promise<void> {
  return expect(framesText(encodeResponsesEvents(events))).toMatchFileSnapshot(`../../test/fixtures/responses/encoder/${name}.sse`);
}

describe('ResponsesEventEncoder golden streams', () => {
  it('streams text as one message item with numbered events and usage including cached tokens', async () => {
    const events = encode(new PiEvents('anthropic-messages').start().textStart(0).textDelta(0, 'Hel').textDelta(0, 'lo').textEnd(0).done('stop', usage(12, 3, 100, 7)).events);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const completed = events.at(-1)!;
    expect(completed.type).toBe('response.completed');
    expect((completed.response as { usage: unknown }).usage).toEqual({
      input_tokens: 119,
      input_tokens_details: { cached_tokens: 100 },
      output_tokens: 3,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 122,
    });
    await golden('text', events);
  });

  it('streams Anthropic thinking as a reasoning item with summary and encrypted signature, then a shell call', async () => {
    const pi = new PiEvents('anthropic-messages')
      .start()
      .thinkingStart(0)
      .thinkingDelta(0, 'Let me think.')
      .thinkingEnd(0, 'sig-abc')
      .toolStart(1, 'toolu_01', 'exec_command')
      .toolDelta(1, '{"cmd":')
      .toolDelta(1, '"echo hi"}')
      .toolEnd(1, { cmd: 'echo hi' })
      .done('toolUse', usage(20, 9));
    const events = encode(pi.events);
    const reasoning = events.find((e) => e.type === 'response.output_item.done')!.item as { encrypted_content: string };
    expect(decodeReasoning(reasoning.encrypted_content)).toEqual({ api: 'anthropic-messages', thinking: 'Let me think.', signature: 'sig-abc', redacted: false });
    expect(reasoning.encrypted_content).not.toContain('think');
    await golden('thinking-tool', events);
  });

  it('turns a call of the functionized apply_patch into a custom_tool_call carrying the raw input', async () => {
    const pi = new PiEvents('openai-completions')
      .start()
      .toolStart(0, 'call_1', 'apply_patch')
      .toolDelta(0, '{"input":"*** Begin Patch\\n"}')
      .toolEnd(0, { input: '*** Begin Patch\n' })
      .done('toolUse');
    const events = encode(pi.events);
    const done = events.find((e) => e.type === 'response.output_item.done')!.item;
    expect(done).toEqual({ id: 'ctc_test2', type: 'custom_tool_call', status: 'completed', input: '*** Begin Patch\n', call_id: 'call_1', name: 'apply_patch' });
    expect(events.some((e) => e.type === 'response.function_call_arguments.delta')).toBe(false);
    await golden('custom-tool', events);
  });

  it('answers a namespace member call with name and namespace apart', () => {
    const pi = new PiEvents().start().toolStart(0, 'call_2', 'multi_agent_v1__spawn_agent').toolEnd(0, {}).done('toolUse');
    const added = encode(pi.events).find((e) => e.type === 'response.output_item.added')!.item;
    expect(added).toMatchObject({ type: 'function_call', name: 'spawn_agent', namespace: 'multi_agent_v1', call_id: 'call_2' });
  });

  it('keeps interleaved items apart: text still open while a tool call streams (openai-completions ends all last)', async () => {
    const pi = new PiEvents('openai-completions')
      .start()
      .textStart(0)
      .textDelta(0, 'Running.')
      .toolStart(1, 'call_3', 'exec_command')
      .toolDelta(1, '{"cmd":"ls"}')
      .textEnd(0)
      .toolEnd(1, { cmd: 'ls' })
      .done('toolUse');
    const events = encode(pi.events);
    const indexes = events.filter((e) => e.type === 'response.output_item.done').map((e) => [e.output_index, (e.item as { type: string }).type]);
    expect(indexes).toEqual([
      [0, 'message'],
      [1, 'function_call'],
    ]);
    await golden('interleaved', events);
  });

  it('does not show reasoning from a non-Anthropic target without a summary request, nor carry it', () => {
    const pi = new PiEvents('openai-completions').start().thinkingStart(0).thinkingDelta(0, 'hmm').thinkingEnd(0, 'reasoning_content').textStart(1).textDelta(1, 'ok').textEnd(1).done();
    const events = encode(pi.events, { emitSummary: false });
    expect(events.some((e) => e.type.includes('reasoning') || (e.item as { type?: string } | undefined)?.type === 'reasoning')).toBe(false);
    expect(events.filter((e) => e.type === 'response.output_item.done').map((e) => e.output_index)).toEqual([0]);
  });

  it('reports truncation as response.incomplete with reason max_output_tokens', () => {
    const events = encode(new PiEvents().start().textStart(0).textDelta(0, 'Once').done('length').events);
    expect(events.at(-1)).toMatchObject({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });
  });

  it('fails before any output without producing events, so the caller answers with the HTTP status', () => {
    const e = encoder();
    expect(e.push(new PiEvents().start().error('429 {"error":{"message":"slow down"}}').events.at(-1)!)).toEqual([]);
    expect(e.failure?.status).toBe(429);
    expect(() => e.result()).toThrow('slow down');
  });

  it('ends a started stream that fails with response.failed, and one that just stops the same way', () => {
    const failed = encode(new PiEvents().start().textStart(0).textDelta(0, 'par').error('boom').events);
    expect(failed.at(-1)).toMatchObject({ type: 'response.failed', response: { status: 'failed', error: { message: 'boom' } } });
    const cut = encode(new PiEvents().start().textStart(0).textDelta(0, 'par').events);
    expect(cut.at(-1)).toMatchObject({ type: 'response.failed', response: { error: { message: 'Upstream stream ended unexpectedly' } } });
    expect(cut.some((e) => e.type === 'response.completed')).toBe(false);
  });
});

describe('ResponsesEventEncoder on a compaction request', () => {
  const request = validateResponsesRequest({
    model: 'gpt-5.1-codex',
    input: [{ type: 'message', role: 'user', content: 'fix it' }, { type: 'compaction_trigger' }],
    tools: TOOLS,
    stream: true,
  });

  it('answers with exactly one compaction item carrying the summary, and nothing shown before the end', () => {
    const pi = new PiEvents('anthropic-messages').start().textStart(0).textDelta(0, 'Notes: ').textDelta(0, 'parser fixed.').textEnd(0).done('stop', usage(900, 40));
    const e = encoder({ request });
    const perEvent = pi.events.map((event) => e.push(event));
    expect(perEvent.slice(0, -1).every((out) => out.length === 0)).toBe(true);
    const events = perEvent.at(-1)!;
    expect(events.map((ev) => ev.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.output_item.done',
      'response.completed',
    ]);
    const done = events[3].item as { type: string; encrypted_content: string };
    expect(done.type).toBe('compaction');
    expect(decodeCompaction(done.encrypted_content)).toBe('Notes: parser fixed.');
    const response = e.result();
    expect(response.output).toEqual([done]);
    expect(response.usage).toMatchObject({ input_tokens: 900, output_tokens: 40 });
  });

  it('leaves out tool calls and thinking the target produced while summarizing', () => {
    const pi = new PiEvents('anthropic-messages')
      .start()
      .thinkingStart(0)
      .thinkingDelta(0, 'hmm')
      .thinkingEnd(0, 'sig')
      .textStart(1)
      .textDelta(1, 'The summary.')
      .textEnd(1)
      .toolStart(2, 'toolu_1', 'exec_command')
      .toolEnd(2, { cmd: 'ls' })
      .done('toolUse');
    const e = encoder({ request });
    pi.events.forEach((event) => e.push(event));
    const output = e.result().output;
    expect(output.map((i) => i.type)).toEqual(['compaction']);
    expect(decodeCompaction(output[0].encrypted_content as string)).toBe('The summary.');
  });

  it('fails a compaction without summary text instead of answering an empty item', () => {
    const pi = new PiEvents('anthropic-messages').start().toolStart(0, 'toolu_1', 'exec_command').toolEnd(0, { cmd: 'ls' }).done('toolUse');
    const e = encoder({ request });
    const events = pi.events.flatMap((event) => e.push(event));
    expect(events).toEqual([]);
    expect(e.failure?.message).toMatch(/no summary/);
  });
});
