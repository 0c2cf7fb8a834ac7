import type {
  ContentBlock,
  Message,
  MessageDeltaUsage,
  RawContentBlockDelta,
  RawMessageStreamEvent,
  StopReason,
  Usage,
} from '@anthropic-ai/sdk/resources/messages/messages';
import { splitInPieces, toolArguments, turnStopReason, turnUsage, type FakeTurn } from './fake-turn.js';
import type { TurnContext } from './provider-fake.js';

// Typed against the official SDK so the fake cannot drift from the real wire shapes.
export type AnthropicWireEvent =
  | RawMessageStreamEvent
  | { type: 'ping' }
  | { type: 'error'; error: { type: string; message: string } };

export interface AnthropicTurn {
  events: AnthropicWireEvent[];
  /** The complete message: the body of a non-streaming answer. */
  message: Message;
}

const STOP_REASONS = { stop: 'end_turn', length: 'max_tokens', toolUse: 'tool_use' } as const satisfies Record<
  string,
  StopReason
>;

/** Renders a turn as the Messages API streams it: one block at a time, with increasing indexes. */
export function anthropicTurn(turn: FakeTurn, ctx: TurnContext): AnthropicTurn {
  const planned = planBlocks(turn, ctx);
  const stopReason = STOP_REASONS[turnStopReason(turn)];
  const content = planned.map((p) => p.block);
  const base = baseMessage(turn, ctx);
  const message: Message = { ...base, content, stop_reason: stopReason };
  const events: AnthropicWireEvent[] = [
    { type: 'message_start', message: base },
    { type: 'ping' },
  ];
  planned.forEach((block, index) => events.push(...blockEvents(block, index)));
  if (turn.streamError) {
    const { message: text, code = 'overloaded_error' } = turn.streamError;
    events.push({ type: 'error', error: { type: code, message: text } });
    return { events, message };
  }
  events.push(
    {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null, container: null, stop_details: null },
      usage: deltaUsage(turn),
    },
    { type: 'message_stop' },
  );
  return { events, message };
}

function baseMessage(turn: FakeTurn, { model, nextId }: TurnContext): Message {
  return {
    id: nextId('msg_'),
    type: 'message',
    role: 'assistant',
    model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: startUsage(turn),
  };
}

// message_start carries the input side and a provisional output count, as the real API does.
function startUsage(turn: FakeTurn): Usage {
  const u = turnUsage(turn);
  return {
    input_tokens: u.inputTokens,
    cache_creation_input_tokens: u.cacheWriteTokens,
    cache_read_input_tokens: u.cacheReadTokens,
    cache_creation: { ephemeral_5m_input_tokens: u.cacheWriteTokens, ephemeral_1h_input_tokens: 0 },
    output_tokens: 1,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: 'standard',
    inference_geo: null,
    speed: null,
  };
}

function deltaUsage(turn: FakeTurn): MessageDeltaUsage {
  const u = turnUsage(turn);
  return {
    input_tokens: u.inputTokens,
    cache_creation_input_tokens: u.cacheWriteTokens,
    cache_read_input_tokens: u.cacheReadTokens,
    output_tokens: u.outputTokens,
    output_tokens_details: null,
    server_tool_use: null,
  };
}

/** A content block, how it opens on the stream, and the deltas that fill it. */
interface PlannedBlock {
  block: ContentBlock;
  start: ContentBlock;
  deltas: RawContentBlockDelta[];
}

function planBlocks(turn: FakeTurn, { nextId }: TurnContext): PlannedBlock[] {
  const planned: PlannedBlock[] = [];
  if (turn.reasoning?.length) {
    const thinking = turn.reasoning.join('');
    const signature = fakeSignature(thinking);
    planned.push({
      block: { type: 'thinking', thinking, signature },
      start: { type: 'thinking', thinking: '', signature: '' },
      deltas: [
        ...turn.reasoning.map((t) => ({ type: 'thinking_delta' as const, thinking: t })),
        { type: 'signature_delta', signature },
      ],
    });
  }
  if (turn.text?.length) {
    planned.push({
      block: { type: 'text', text: turn.text.join(''), citations: null },
      start: { type: 'text', text: '', citations: null },
      deltas: turn.text.map((text) => ({ type: 'text_delta', text })),
    });
  }
  for (const call of turn.toolCalls ?? []) {
    const json = toolArguments(call);
    const block: ContentBlock = {
      type: 'tool_use',
      id: call.id ?? nextId('toolu_'),
      name: call.name,
      input: parseOr(json, {}),
      caller: { type: 'direct' },
    };
    planned.push({
      block,
      start: { ...block, input: {} },
      // The real API opens every tool_use with an empty partial_json.
      deltas: ['', ...splitInPieces(json)].map((partial_json) => ({ type: 'input_json_delta', partial_json })),
    });
  }
  return planned;
}

function blockEvents({ start, deltas }: PlannedBlock, index: number): AnthropicWireEvent[] {
  return [
    { type: 'content_block_start', index, content_block: start },
    ...deltas.map((delta): AnthropicWireEvent => ({ type: 'content_block_delta', index, delta })),
    { type: 'content_block_stop', index },
  ];
}

// Opaque on the real API; clients must send it back unchanged with the thinking block.
export function fakeSignature(thinking: string): string {
  return Buffer.from(`fake-signature:${thinking.length}`).toString('base64');
}

function parseOr(json: string, fallback: unknown): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return fallback;
  }
}
