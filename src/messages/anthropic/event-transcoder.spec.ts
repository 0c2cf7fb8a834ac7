import type { Api, AssistantMessageEvent } from '@mariozechner/pi-ai';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAnthropicStream } from '../../../test/fixtures/messages/anthropic-stream-checker.js';
import { PiEvents, usage } from '../../../test/fixtures/messages/pi-events.js';
import { ErrorCode } from '../../errors/error-codes.js';
import type { AnthropicStreamEvent } from './anthropic-events.js';
import { AnthropicEventTranscoder, type TranscoderOptions } from './event-transcoder.js';
import { encodeSseEvents } from './sse-encoder.js';
import { decodeToolId } from './tool-id-codec.js';

const options: TranscoderOptions = { model: 'claude-sonnet-4-5', emitThinking: true, messageId: 'msg_test' };

function transcode(events: AssistantMessageEvent[], opts: Partial<TranscoderOptions> = {}): AnthropicStreamEvent[] {
  const transcoder = new AnthropicEventTranscoder({ ...options, ...opts });
  return events.flatMap((e) => transcoder.push(e));
}

function golden(name: string, events: AnthropicStreamEvent[]): Promise<void> {
  expect(checkAnthropicStream(events)).toEqual([]);
  return expect(encodeSseEvents(events)).toMatchFileSnapshot(`../../../test/fixtures/messages/event-transcoder/${name}.sse`);
}

function jsonOf(events: AnthropicStreamEvent[]): unknown[] {
  const inputs: unknown[] = [];
  let json = '';
  for (const e of events) {
    if (e.type === 'content_block_delta' && e.delta.type === 'input_json_delta') json += e.delta.partial_json;
    if (e.type === 'content_block_stop' && json !== '') {
      inputs.push(JSON.parse(json));
      json = '';
    }
  }
  return inputs;
}

describe('AnthropicEventTranscoder golden streams', () => {
  it('streams plain text', async () => {
    const pi = new PiEvents('anthropic-messages').start().textStart(0).textDelta(0, 'Hel').textDelta(0, 'lo').textEnd(0).done('stop', usage(12, 3, 100, 7));
    await golden('text', transcode(pi.events));
  });

  it('streams Anthropic thinking with its signature, then text and a tool call', async () => {
    const pi = new PiEvents('anthropic-messages')
      .start()
      .thinkingStart(0)
      .thinkingDelta(0, 'Let me think.')
      .thinkingEnd(0, 'sig-abc')
      .textStart(1)
      .textDelta(1, 'Running.')
      .textEnd(1)
      .toolStart(2, 'toolu_01', 'Bash')
      .toolDelta(2, '{"command":')
      .toolDelta(2, '"echo hi"}')
      .toolEnd(2, { command: 'echo hi' })
      .done('toolUse', usage(20, 9));
    await golden('thinking-text-tool', transcode(pi.events));
  });

  it('serializes blocks that openai-completions interleaves and ends last', async () => {
    const pi = new PiEvents('openai-completions')
      .start()
      .thinkingStart(0)
      .thinkingDelta(0, 'hmm')
      .textStart(1)
      .textDelta(1, 'I will run two commands.')
      .thinkingDelta(0, ' more')
      .toolStart(2, 'call_1', 'Bash')
      .toolDelta(2, '{"command":"ls"')
      .toolStart(3, 'call_2', 'Read')
      .toolDelta(3, '{"path":"/a"}')
      .textDelta(1, ' Done.')
      .toolDelta(2, '}')
      .thinkingEnd(0)
      .textEnd(1)
      .toolEnd(2, { command: 'ls' })
      .toolEnd(3, { path: '/a' })
      .done('toolUse');
    const events = transcode(pi.events);
    expect(jsonOf(events)).toEqual([{ command: 'ls' }, { path: '/a' }]);
    await golden('interleaved', events);
  });

  it('skips empty tool deltas and waits for a late id', async () => {
    const pi = new PiEvents('openai-completions')
      .start()
      .toolStart(0, '', '')
      .toolDelta(0, '')
      .toolDelta(0, '{"a":1}')
      .toolDelta(0, '')
      .toolEnd(0, { a: 1 }, { id: 'call_late', name: 'Bash' })
      .done('toolUse');
    await golden('empty-tool-deltas', transcode(pi.events));
  });

  it('completes tool JSON that never becomes valid', async () => {
    const pi = new PiEvents('openai-completions')
      .start()
      .toolStart(0, 'call_1', 'Bash')
      .toolDelta(0, '{"command": "ls", ')
      .toolDelta(0, ', "oops": }')
      .toolEnd(0, { command: 'ls' })
      .done('toolUse');
    const events = transcode(pi.events);
    expect(jsonOf(events)).toEqual([{ command: 'ls' }]);
    await golden('malformed-tool-json', events);
  });

  it('completes tool JSON cut off by max_tokens', async () => {
    const pi = new PiEvents('openai-responses')
      .start()
      .toolStart(0, 'call_1|fc_1', 'Write')
      .toolDelta(0, '{"path":"/a","content":"line one\nline')
      .toolEnd(0, { path: '/a', content: 'line one\nline' })
      .done('length');
    const events = transcode(pi.events);
    expect(jsonOf(events)).toEqual([{ path: '/a', content: 'line one\nline' }]);
    await golden('truncated-tool-json', events);
  });

  it('sends pi-ai parsed arguments whole when the stream gave nothing usable', () => {
    const pi = new PiEvents('google-generative-ai').start().toolStart(0, 'g_1', 'Bash').toolDelta(0, 'not json').toolEnd(0, { command: 'x' }).done('toolUse');
    expect(jsonOf(transcode(pi.events))).toEqual([{ command: 'x' }]);
  });

  it('ends with an error frame when the upstream fails mid-stream', async () => {
    const pi = new PiEvents('anthropic-messages')
      .start()
      .textStart(0)
      .textDelta(0, 'Partial')
      .error('529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
    await golden('error-mid-stream', transcode(pi.events));
  });

  it('reports a content filter as a refusal', async () => {
    const pi = new PiEvents('openai-completions').start().textStart(0).textDelta(0, 'I').error('Provider finish_reason: content_filter');
    await golden('refusal', transcode(pi.events));
  });

  it('passes redacted thinking on to an Anthropic client', async () => {
    const pi = new PiEvents('anthropic-messages')
      .start()
      .thinkingStart(0, { redacted: true, signature: 'opaque-data' })
      .thinkingEnd(0)
      .textStart(1)
      .textDelta(1, 'ok')
      .textEnd(1)
      .done();
    await golden('redacted-thinking', transcode(pi.events));
  });

  it('encodes a Responses tool id so the client accepts it', async () => {
    const pi = new PiEvents('openai-codex-responses')
      .start()
      .toolStart(0, 'call_abc|fc_def', 'Bash')
      .toolDelta(0, '{"command":"pwd"}')
      .toolEnd(0, { command: 'pwd' })
      .done('toolUse');
    const events = transcode(pi.events);
    const start = events.find((e) => e.type === 'content_block_start');
    expect(start?.type === 'content_block_start' && start.content_block.type === 'tool_use' && decodeToolId(start.content_block.id)).toBe(
      'call_abc|fc_def',
    );
    await golden('codex-tool-id', events);
  });
});

describe('AnthropicEventTranscoder', () => {
  it('reports the model the client asked for', () => {
    const [start] = transcode(new PiEvents().start().done().events, { model: 'claude-opus-5-5' });
    expect(start).toMatchObject({ type: 'message_start', message: { model: 'claude-opus-5-5', id: 'msg_test' } });
  });

  it('starts with a usage object that has every field', () => {
    const [start] = transcode(new PiEvents().start().textStart(0).textDelta(0, 'x').events);
    expect(start).toMatchObject({
      message: { usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }, stop_reason: null },
    });
  });

  it('reports final usage with cache tokens in message_delta', () => {
    const events = transcode(new PiEvents().start().textStart(0).textDelta(0, 'x').textEnd(0).done('stop', usage(5, 7, 300, 40)).events);
    expect(events.at(-2)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 5, output_tokens: 7, cache_creation_input_tokens: 40, cache_read_input_tokens: 300 },
    });
  });

  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
  ] as const)('maps pi-ai stop reason %s to %s', (reason, expected) => {
    const events = transcode(new PiEvents().start().textStart(0).textDelta(0, 'x').textEnd(0).done(reason).events);
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: expected } });
  });

  it('says tool_use when the message ends with tool calls whatever pi-ai says', () => {
    const events = transcode(new PiEvents().start().toolStart(0, 'c', 'Bash').toolEnd(0, {}).done('stop').events);
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'tool_use' } });
  });

  it('says end_turn for toolUse without any tool call', () => {
    const events = transcode(new PiEvents().start().textStart(0).textDelta(0, 'x').textEnd(0).done('toolUse').events);
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'end_turn' } });
  });

  it('writes no block for text that stayed empty', () => {
    const events = transcode(new PiEvents().start().textStart(0).textDelta(0, '').textEnd(0).done().events);
    expect(events.map((e) => e.type)).toEqual(['message_start', 'message_delta', 'message_stop']);
  });

  it('hides thinking when the client did not ask for it', () => {
    const pi = new PiEvents().start().thinkingStart(0).thinkingDelta(0, 'secret').thinkingEnd(0).textStart(1).textDelta(1, 'hi').textEnd(1).done();
    const events = transcode(pi.events, { emitThinking: false });
    expect(JSON.stringify(events)).not.toContain('secret');
    expect(events.find((e) => e.type === 'content_block_start')).toMatchObject({ index: 0, content_block: { type: 'text' } });
  });

  it('sends no signature from a non-Anthropic upstream', () => {
    const pi = new PiEvents('openai-responses').start().thinkingStart(0).thinkingDelta(0, 'x').thinkingEnd(0, '{"type":"reasoning"}').done();
    expect(transcode(pi.events).some((e) => e.type === 'content_block_delta' && e.delta.type === 'signature_delta')).toBe(false);
  });

  it('writes an omitted Anthropic thinking block for its signature alone', () => {
    const pi = new PiEvents('anthropic-messages').start().thinkingStart(0).thinkingEnd(0, 'sig').done();
    expect(transcode(pi.events).filter((e) => e.type.startsWith('content_block'))).toEqual([
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig' } },
      { type: 'content_block_stop', index: 0 },
    ]);
  });

  it('produces nothing and keeps the error when the upstream fails before starting', () => {
    const transcoder = new AnthropicEventTranscoder(options);
    expect(transcoder.push(new PiEvents().error('429 Rate limit reached').events[0])).toEqual([]);
    expect(transcoder.started).toBe(false);
    expect(transcoder.failure?.code).toBe(ErrorCode.RateLimited);
  });

  it('keeps the error for an HTTP answer when the upstream fails after starting but before any content', () => {
    const transcoder = new AnthropicEventTranscoder(options);
    const pi = new PiEvents('openai-codex-responses').start().error('Upstream overloaded, try again');
    expect(pi.events.flatMap((e) => transcoder.push(e))).toEqual([]);
    expect(transcoder.failure?.code).toBe(ErrorCode.Overloaded);
  });

  it('starts the message with the usage known at the first content', () => {
    const pi = new PiEvents('anthropic-messages').start();
    pi.message.usage = usage(1200, 1, 5000, 0);
    const [start] = transcode(pi.textStart(0).textDelta(0, 'x').events);
    expect(start).toMatchObject({ message: { usage: { input_tokens: 1200, cache_read_input_tokens: 5000 } } });
  });

  it('uses the status the caller observed when the message has none', () => {
    const transcoder = new AnthropicEventTranscoder({ ...options, observedStatus: () => 429 });
    transcoder.push(new PiEvents('openai-codex-responses').error('You have hit your ChatGPT usage limit.').events[0]);
    expect(transcoder.failure?.code).toBe(ErrorCode.RateLimited);
  });

  it('maps an error frame type from the upstream status', () => {
    const events = transcode(new PiEvents().start().textStart(0).textDelta(0, 'x').error('429 {"error":{"message":"slow down"}}').events);
    expect(events.at(-1)).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } });
  });

  it('ends with an error frame when the pi-ai stream stops without a final event', () => {
    const transcoder = new AnthropicEventTranscoder(options);
    new PiEvents().start().textStart(0).textDelta(0, 'x').events.forEach((e) => transcoder.push(e));
    expect(transcoder.end()).toEqual([{ type: 'error', error: { type: 'api_error', message: 'Upstream stream ended unexpectedly' } }]);
  });

  it('keeps the failure when the pi-ai stream stops before any content', () => {
    const transcoder = new AnthropicEventTranscoder(options);
    transcoder.push(new PiEvents().start().events[0]);
    expect(transcoder.end()).toEqual([]);
    expect(transcoder.failure?.message).toBe('Upstream stream ended unexpectedly');
  });

  it('ignores events after the end', () => {
    const transcoder = new AnthropicEventTranscoder(options);
    const pi = new PiEvents().start().done().textStart(0).textDelta(0, 'late');
    pi.events.forEach((e) => transcoder.push(e));
    expect(transcoder.push(pi.events[3])).toEqual([]);
    expect(transcoder.finished).toBe(true);
  });
});

// ---- property: any plausible pi-ai sequence gives a well-formed Anthropic stream ----

interface BlockScript {
  kind: 'text' | 'thinking' | 'toolCall';
  deltas: string[];
  ends: boolean;
  lateId: boolean;
}

const toolJson = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 20 }),
);
const blockScript: fc.Arbitrary<BlockScript> = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), deltas: fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 }), ends: fc.boolean(), lateId: fc.constant(false) }),
  fc.record({ kind: fc.constant('thinking' as const), deltas: fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 }), ends: fc.boolean(), lateId: fc.constant(false) }),
  fc.record({
    kind: fc.constant('toolCall' as const),
    deltas: fc.tuple(toolJson, fc.array(fc.nat({ max: 30 }), { maxLength: 3 })).map(([json, cuts]) => {
      const points = [...new Set(cuts.map((c) => c % (json.length + 1)))].sort((a, b) => a - b);
      return [...points, json.length].map((p, i, all) => json.slice(i === 0 ? 0 : all[i - 1], p));
    }),
    ends: fc.boolean(),
    lateId: fc.boolean(),
  }),
);

const scenario = fc.record({
  api: fc.constantFrom<Api>('anthropic-messages', 'openai-completions', 'openai-responses'),
  blocks: fc.array(blockScript, { maxLength: 5 }),
  order: fc.array(fc.nat(), { maxLength: 60 }),
  ending: fc.constantFrom('stop', 'length', 'toolUse', 'error', 'refusal', 'none'),
  emitThinking: fc.boolean(),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function build(s: Scenario): AssistantMessageEvent[] {
  const pi = new PiEvents(s.api).start();
  // Each block's own events in order; the blocks interleave as `order` says.
  const queues = s.blocks.map((b, i) => [{ b, i, step: 'start' }, ...b.deltas.map((d) => ({ b, i, step: d })), ...(b.ends ? [{ b, i, step: 'end' }] : [])]);
  const contentIndex = new Map<number, number>();
  let picks = 0;
  while (queues.some((q) => q.length > 0)) {
    const live = queues.filter((q) => q.length > 0);
    const queue = live[(s.order[picks++] ?? 0) % live.length];
    const { b, i, step } = queue.shift() as { b: BlockScript; i: number; step: string };
    const position = picks;
    if (!contentIndex.has(i)) {
      contentIndex.set(i, contentIndex.size);
      const ci = contentIndex.get(i) as number;
      if (b.kind === 'text') pi.textStart(ci);
      else if (b.kind === 'thinking') pi.thinkingStart(ci);
      else pi.toolStart(ci, b.lateId ? '' : `call_${position}|fc_x`, b.lateId ? '' : 'Bash');
      continue;
    }
    const ci = contentIndex.get(i) as number;
    if (step === 'end') {
      if (b.kind === 'text') pi.textEnd(ci);
      else if (b.kind === 'thinking') pi.thinkingEnd(ci, s.api === 'anthropic-messages' ? 'sig' : undefined);
      else pi.toolEnd(ci, { ok: true }, b.lateId ? { id: `late_${ci}`, name: 'Bash' } : undefined);
    } else if (b.kind === 'text') pi.textDelta(ci, step);
    else if (b.kind === 'thinking') pi.thinkingDelta(ci, step);
    else pi.toolDelta(ci, step);
  }
  if (s.ending === 'error') pi.error('500 boom');
  else if (s.ending === 'refusal') pi.error('Provider finish_reason: content_filter');
  else if (s.ending !== 'none') pi.done(s.ending);
  return pi.events;
}

describe('AnthropicEventTranscoder properties', () => {
  it('turns any plausible pi-ai event sequence into a well-formed Anthropic stream', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const transcoder = new AnthropicEventTranscoder({ ...options, emitThinking: s.emitThinking });
        const events = build(s).flatMap((e) => transcoder.push(e));
        events.push(...transcoder.end());
        expect(checkAnthropicStream(events)).toEqual([]);
        // Nothing written means the failure is still free to become an HTTP error.
        if (events.length === 0) expect(transcoder.failure).toBeDefined();
      }),
      { numRuns: 2000 },
    );
  });

  it('delivers all text and every tool call of a completed stream', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        if (s.ending !== 'stop' && s.ending !== 'toolUse' && s.ending !== 'length') return;
        const events = transcode(build(s), { emitThinking: s.emitThinking });
        const sent = events.map((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : '')).join('');
        const expected = s.blocks.filter((b) => b.kind === 'text').flatMap((b) => b.deltas);
        expect(sent.length).toBe(expected.join('').length);
        const tools = events.filter((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use');
        expect(tools).toHaveLength(s.blocks.filter((b) => b.kind === 'toolCall').length);
      }),
      { numRuns: 1000 },
    );
  });
});
