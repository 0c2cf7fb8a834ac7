import type { AssistantMessageEvent } from '@mariozechner/pi-ai';
import { ErrorCode } from '../../errors/error-codes.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { AnthropicMessage, AnthropicStreamEvent } from './anthropic-events.js';
import { AnthropicEventTranscoder, type TranscoderOptions } from './event-transcoder.js';
import { upstreamErrorToGatewayError } from './upstream-error.js';

/**
 * The non-streaming answer: the same events as the stream, folded into one Anthropic message,
 * so both paths carry the same content by construction.
 */
export class AnthropicMessageAggregator {
  private readonly transcoder: AnthropicEventTranscoder;
  private message: AnthropicMessage | undefined;
  private readonly json = new Map<number, string>();
  private error: GatewayError | undefined;
  private lastFailure: AssistantMessageEvent | undefined;

  constructor(private readonly options: TranscoderOptions) {
    this.transcoder = new AnthropicEventTranscoder(options);
  }

  push(event: AssistantMessageEvent): void {
    if (event.type === 'error') this.lastFailure = event;
    for (const e of this.transcoder.push(event)) this.apply(e);
  }

  /** The message, or throws the GatewayError the stream ended with (nothing was sent yet, so it keeps its status). */
  result(): AnthropicMessage {
    if (!this.transcoder.finished) for (const e of this.transcoder.end()) this.apply(e);
    const failure = this.transcoder.failure ?? this.error;
    if (failure) throw failure;
    if (!this.message || this.message.stop_reason === null) {
      throw new GatewayError(ErrorCode.UpstreamError, 'Upstream stream ended unexpectedly');
    }
    return this.message;
  }

  private apply(event: AnthropicStreamEvent): void {
    const message = this.message;
    switch (event.type) {
      case 'message_start':
        this.message = { ...event.message, content: [] };
        return;
      case 'ping':
      case 'message_stop':
        return;
      case 'error':
        // Mid-stream the status is lost in SSE; here it is not, so map the original failure again.
        this.error =
          this.lastFailure?.type === 'error'
            ? upstreamErrorToGatewayError(this.lastFailure.error, this.options.observedStatus?.())
            : new GatewayError(ErrorCode.UpstreamError, event.error.message);
        return;
      default:
        break;
    }
    if (!message) return;
    switch (event.type) {
      case 'content_block_start':
        message.content[event.index] = { ...event.content_block };
        if (event.content_block.type === 'tool_use') this.json.set(event.index, '');
        return;
      case 'content_block_delta': {
        const block = message.content[event.index];
        const delta = event.delta;
        if (delta.type === 'text_delta' && block.type === 'text') block.text += delta.text;
        else if (delta.type === 'thinking_delta' && block.type === 'thinking') block.thinking += delta.thinking;
        else if (delta.type === 'signature_delta' && block.type === 'thinking') block.signature += delta.signature;
        else if (delta.type === 'input_json_delta') this.json.set(event.index, (this.json.get(event.index) ?? '') + delta.partial_json);
        return;
      }
      case 'content_block_stop': {
        const block = message.content[event.index];
        const json = this.json.get(event.index);
        // The transcoder guarantees valid JSON at block stop.
        if (block.type === 'tool_use' && json !== undefined) block.input = json === '' ? {} : (JSON.parse(json) as Record<string, unknown>);
        return;
      }
      case 'message_delta':
        message.stop_reason = event.delta.stop_reason;
        message.stop_sequence = event.delta.stop_sequence;
        message.usage = event.usage;
        return;
    }
  }
}
