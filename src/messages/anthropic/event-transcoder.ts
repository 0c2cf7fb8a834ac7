import { randomUUID } from 'node:crypto';
import type { AssistantMessage, AssistantMessageEvent, ToolCall, Usage } from '@mariozechner/pi-ai';
import type { GatewayError } from '../../errors/gateway-error.js';
import type { AnthropicContentBlock, AnthropicStopReason, AnthropicStreamEvent, AnthropicUsage } from './anthropic-events.js';
import { PartialJsonScanner } from './partial-json-scanner.js';
import { encodeToolId } from './tool-id-codec.js';
import { anthropicErrorBody, isRefusal, upstreamErrorToGatewayError } from './upstream-error.js';

export interface TranscoderOptions {
  /** The model the client asked for: Anthropic clients expect it back in `message.model`. */
  model: string;
  /** Whether thinking blocks reach the client (see PiRequest.emitThinking). */
  emitThinking: boolean;
  /** `msg_...`; random unless given (tests). */
  messageId?: string;
  /** The upstream HTTP status, when the caller's onResponse hook saw one (see upstreamErrorToGatewayError). */
  observedStatus?: () => number | undefined;
}

type Kind = 'text' | 'thinking' | 'toolCall';

interface Block {
  piIndex: number;
  kind: Kind;
  /** Content received but not written yet. */
  pending: string;
  ended: boolean;
  /** Thinking the client must not see, or redacted thinking a non-Anthropic client cannot use. */
  dropped: boolean;
  redacted: boolean;
  signature: string;
  toolCall?: ToolCall;
  scanner?: PartialJsonScanner;
  /** Open as an Anthropic block once; a text or thinking block may continue in a new one. */
  opened: boolean;
}

/**
 * Turns pi-ai's event stream into Anthropic's, one event at a time. Anthropic clients need
 * exactly one open content block at a time with increasing indexes, while pi-ai may interleave
 * blocks (openai-completions sends every `*_end` last). So a text or thinking block is closed
 * when another block needs the stream and continues in a new block if more of it arrives; a
 * tool call cannot be split, so while one is open, other blocks are buffered until it ends.
 * Empty blocks are never written: a replayed empty text block is a 400 at Anthropic.
 */
export class AnthropicEventTranscoder {
  private readonly messageId: string;
  private readonly blocks = new Map<number, Block>();
  /** Blocks with content waiting for the open tool call to end, in arrival order. */
  private readonly waiting: Block[] = [];
  private open: Block | undefined;
  private nextIndex = 0;
  private api = '';
  private toolUses = 0;
  private isStarted = false;
  /** The latest state of the message pi-ai is building. */
  private latest: AssistantMessage | undefined;
  private isFinished = false;
  private failedBeforeStart: GatewayError | undefined;

  constructor(private readonly options: TranscoderOptions) {
    // randomUUID draws from a buffered pool; randomBytes would fill a new buffer per message.
    this.messageId = options.messageId ?? `msg_${randomUUID().replaceAll('-', '')}`;
  }

  /**
   * `message_start` was produced. It waits for the first content (or the end), so that an
   * upstream failing before it answers with a real HTTP status; after it, failures are SSE
   * error frames.
   */
  get started(): boolean {
    return this.isStarted;
  }

  /** A final `message_stop` or `error` was produced; later events are ignored. */
  get finished(): boolean {
    return this.isFinished || this.failedBeforeStart !== undefined;
  }

  /** The stream failed before anything was produced: answer with this error's HTTP status instead. */
  get failure(): GatewayError | undefined {
    return this.failedBeforeStart;
  }

  push(event: AssistantMessageEvent): AnthropicStreamEvent[] {
    if (this.finished) return [];
    const out: AnthropicStreamEvent[] = [];
    if (event.type === 'error') {
      this.fail(event.error, out);
      return out;
    }
    this.latest = event.type === 'done' ? event.message : event.partial;
    this.api = this.latest.api;
    switch (event.type) {
      case 'start':
        break;
      case 'text_start':
      case 'thinking_start':
      case 'toolcall_start':
        this.blockFor(event.contentIndex, kindOf(event.type), event.partial);
        break;
      case 'text_delta':
      case 'thinking_delta':
      case 'toolcall_delta': {
        const block = this.blockFor(event.contentIndex, kindOf(event.type), event.partial);
        if (event.delta === '' || block.dropped) break;
        block.pending += event.delta;
        this.write(block, event.partial, out);
        break;
      }
      case 'text_end':
      case 'thinking_end':
      case 'toolcall_end': {
        const block = this.blockFor(event.contentIndex, kindOf(event.type), event.partial);
        if (event.type === 'toolcall_end') block.toolCall = event.toolCall;
        if (event.type === 'thinking_end') block.signature = thinkingSignature(event.partial, event.contentIndex);
        block.ended = true;
        this.finish(block, out);
        break;
      }
      case 'done':
        this.complete(event.reason === 'length' ? 'max_tokens' : 'end_turn', event.message.usage, out);
        break;
    }
    return out;
  }

  /** The pi-ai stream ended without `done` or `error`. */
  end(): AnthropicStreamEvent[] {
    if (this.finished) return [];
    const out: AnthropicStreamEvent[] = [];
    this.fail({ stopReason: 'error', errorMessage: 'Upstream stream ended unexpectedly' }, out);
    return out;
  }

  private ensureStarted(out: AnthropicStreamEvent[]): void {
    if (this.isStarted) return;
    this.isStarted = true;
    out.push({
      type: 'message_start',
      message: {
        id: this.messageId,
        type: 'message',
        role: 'assistant',
        model: this.options.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: anthropicUsage(this.latest?.usage),
      },
    });
  }

  private fail(failed: Pick<AssistantMessage, 'errorMessage' | 'stopReason'> & Partial<AssistantMessage>, out: AnthropicStreamEvent[]): void {
    // Anthropic answers a refusal as a normal message, even one without content.
    if (isRefusal(failed)) {
      this.complete('refusal', failed.usage, out);
      return;
    }
    const error = upstreamErrorToGatewayError(failed, this.options.observedStatus?.());
    if (!this.isStarted) {
      this.failedBeforeStart = error;
      return;
    }
    // Blocks stay open: closing a half-written tool call would only trade the real error for a JSON one.
    out.push({ type: 'error', error: anthropicErrorBody(error) });
    this.isFinished = true;
  }

  private complete(reason: AnthropicStopReason, usage: Usage | undefined, out: AnthropicStreamEvent[]): void {
    for (const block of [...this.blocks.values()].sort((a, b) => a.piIndex - b.piIndex)) {
      if (!block.ended) {
        block.ended = true;
        this.finish(block, out);
      }
    }
    for (const block of [...this.waiting]) this.finish(block, out);
    this.closeOpen(out);
    this.ensureStarted(out);
    // pi-ai reports tool calls by content, some providers by stop reason only: trust the content.
    let stopReason = reason;
    if (reason === 'end_turn' && this.toolUses > 0) stopReason = 'tool_use';
    out.push({
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: anthropicUsage(usage),
    });
    out.push({ type: 'message_stop' });
    this.isFinished = true;
  }

  private blockFor(piIndex: number, kind: Kind, partial: AssistantMessage): Block {
    let block = this.blocks.get(piIndex);
    if (!block) {
      const content = partial.content[piIndex];
      const redacted = content?.type === 'thinking' && content.redacted === true;
      block = {
        piIndex,
        kind,
        pending: '',
        ended: false,
        dropped: kind === 'thinking' && (!this.options.emitThinking || (redacted && !this.signaturesApply())),
        redacted,
        signature: redacted && content?.type === 'thinking' ? (content.thinkingSignature ?? '') : '',
        opened: false,
      };
      if (kind === 'toolCall') block.scanner = new PartialJsonScanner();
      this.blocks.set(piIndex, block);
    }
    return block;
  }

  /** Writes a block's pending content now if the stream is free for it, else queues it. */
  private write(block: Block, partial: AssistantMessage, out: AnthropicStreamEvent[]): void {
    if (this.open === block) {
      this.flush(block, out);
      return;
    }
    if (block.kind === 'toolCall') {
      // A tool_use block can only start once its id and name are known.
      const call = partial.content[block.piIndex];
      if (call?.type !== 'toolCall' || !call.id || !call.name) return;
      block.toolCall = call;
    }
    if (this.open?.kind === 'toolCall') {
      if (!this.waiting.includes(block)) this.waiting.push(block);
      return;
    }
    this.closeOpen(out);
    this.openBlock(block, out);
    this.flush(block, out);
  }

  /** A block's content is complete: write what is left and close it. */
  private finish(block: Block, out: AnthropicStreamEvent[]): void {
    if (block.dropped) return;
    if (this.open !== block) {
      if (!this.needsWriting(block)) return;
      if (this.open?.kind === 'toolCall') {
        if (!this.waiting.includes(block)) this.waiting.push(block);
        return;
      }
      this.closeOpen(out);
      this.openBlock(block, out);
    }
    this.flush(block, out);
    this.seal(block, out);
    this.closeOpen(out);
    this.drainWaiting(out);
  }

  private needsWriting(block: Block): boolean {
    if (block.kind === 'toolCall') return !block.opened;
    if (block.pending !== '') return true;
    // Thinking shown as omitted still carries its signature, which Anthropic needs back.
    return block.kind === 'thinking' && !block.opened && block.signature !== '' && this.signaturesApply();
  }

  private drainWaiting(out: AnthropicStreamEvent[]): void {
    while (this.waiting.length > 0 && this.open === undefined) {
      const block = this.waiting.shift() as Block;
      if (block.ended) {
        this.finish(block, out);
        continue;
      }
      this.openBlock(block, out);
      this.flush(block, out);
    }
  }

  private openBlock(block: Block, out: AnthropicStreamEvent[]): void {
    const queued = this.waiting.indexOf(block);
    if (queued >= 0) this.waiting.splice(queued, 1);
    this.ensureStarted(out);
    const index = this.nextIndex++;
    let contentBlock: AnthropicContentBlock;
    if (block.kind === 'toolCall') {
      const call = block.toolCall;
      contentBlock = {
        type: 'tool_use',
        id: encodeToolId(call?.id || `toolu_${this.messageId.slice(4)}_${index}`),
        name: call?.name ?? '',
        input: {},
      };
      this.toolUses++;
    } else if (block.kind === 'thinking' && block.redacted) {
      contentBlock = { type: 'redacted_thinking', data: block.signature };
    } else if (block.kind === 'thinking') {
      contentBlock = { type: 'thinking', thinking: '', signature: '' };
    } else {
      contentBlock = { type: 'text', text: '' };
    }
    out.push({ type: 'content_block_start', index, content_block: contentBlock });
    block.opened = true;
    this.open = block;
  }

  private flush(block: Block, out: AnthropicStreamEvent[]): void {
    const text = block.pending;
    block.pending = '';
    if (text === '' || block.redacted) return;
    const index = this.nextIndex - 1;
    if (block.kind === 'text') {
      out.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
    } else if (block.kind === 'thinking') {
      out.push({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: text } });
    } else {
      const json = (block.scanner as PartialJsonScanner).push(text);
      if (json !== '') out.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json } });
    }
  }

  /** The last deltas of a finished block: the rest of its JSON, or its signature. */
  private seal(block: Block, out: AnthropicStreamEvent[]): void {
    const index = this.nextIndex - 1;
    if (block.kind === 'toolCall') {
      const scanner = block.scanner as PartialJsonScanner;
      // Nothing usable was streamed: send pi-ai's own parse of the arguments whole.
      const rest = scanner.forwardedAny ? scanner.completion() : JSON.stringify(block.toolCall?.arguments ?? {});
      if (rest !== '') out.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: rest } });
    } else if (block.kind === 'thinking' && !block.redacted && block.signature !== '' && this.signaturesApply()) {
      out.push({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: block.signature } });
    }
  }

  private closeOpen(out: AnthropicStreamEvent[]): void {
    if (!this.open) return;
    out.push({ type: 'content_block_stop', index: this.nextIndex - 1 });
    this.open = undefined;
  }

  /** Only an Anthropic upstream's signatures mean anything to an Anthropic client. */
  private signaturesApply(): boolean {
    return this.api === 'anthropic-messages';
  }
}

function kindOf(type: AssistantMessageEvent['type']): Kind {
  if (type.startsWith('text')) return 'text';
  if (type.startsWith('thinking')) return 'thinking';
  return 'toolCall';
}

function thinkingSignature(partial: AssistantMessage, index: number): string {
  const content = partial.content[index];
  return content?.type === 'thinking' ? (content.thinkingSignature ?? '') : '';
}

export function anthropicUsage(usage: Usage | undefined): AnthropicUsage {
  return {
    input_tokens: usage?.input ?? 0,
    output_tokens: usage?.output ?? 0,
    cache_creation_input_tokens: usage?.cacheWrite ?? 0,
    cache_read_input_tokens: usage?.cacheRead ?? 0,
  };
}
