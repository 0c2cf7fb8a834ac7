import { randomUUID } from 'node:crypto';
import type { AssistantMessage, AssistantMessageEvent, Usage } from '@mariozechner/pi-ai';
import { ErrorCode } from '../errors/error-codes.js';
import type { GatewayError } from '../errors/gateway-error.js';
import { upstreamErrorToGatewayError } from '../messages/anthropic/upstream-error.js';
import { encodeCompaction, isCompactionRequest } from './compaction.js';
import { encodeReasoning } from './reasoning-codec.js';
import type { ResponsesRequest } from './responses-request.js';
import type { ToolCatalog } from './tool-catalog.js';
import { reasoningTokens } from '../messages/reasoning-usage.js';

export interface EncoderOptions {
  /** The model the client asked for, reported back in `response.model`. */
  model: string;
  request: ResponsesRequest;
  /** The request's `tools` as sent, echoed in the response object. */
  echoTools?: unknown[];
  tools: ToolCatalog;
  emitSummary: boolean;
  emitEncrypted: boolean;
  /** Makes ids (`resp_`, `msg_`, `fc_`, ...); random unless given (tests). */
  ids?: (prefix: string) => string;
  createdAt?: number;
  /** The upstream HTTP status, when the caller's onResponse hook saw one (see upstreamErrorToGatewayError). */
  observedStatus?: () => number | undefined;
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type OutputItem = Record<string, unknown> & { id: string; type: string };

export interface ResponseObject extends Record<string, unknown> {
  id: string;
  object: 'response';
  status: ResponseStatus;
  output: OutputItem[];
  usage: ResponseUsage | null;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: string } | null;
}

export type ResponsesStreamEvent = { type: string; sequence_number: number } & Record<string, unknown>;

type Kind = 'message' | 'reasoning' | 'function_call' | 'custom_tool_call';

interface Item {
  kind: Kind;
  id: string;
  outputIndex: number;
  opened: boolean;
  ended: boolean;
  /** Text, summary text, or the arguments as streamed. */
  text: string;
  /** Reasoning shown as summary: the summary part was opened. */
  summaryOpened: boolean;
  callId: string;
  name: string;
  namespace?: string;
}

/**
 * Turns pi-ai's event stream into the Responses API's, as the OpenAI SDK and Codex parse it:
 * `response.created` and `response.in_progress`, then per output item `output_item.added`,
 * its parts and deltas, `output_item.done`, and `response.completed` (or `.incomplete`, or
 * `.failed`), every event numbered. Items may be open at the same time (openai-completions
 * sends every `*_end` last); each has its own `output_index` and id.
 *
 * Like the Anthropic transcoder, nothing is produced before the first content (or the end), so
 * that an upstream failing before it answers with a real HTTP status.
 */
export class ResponsesEventEncoder {
  private readonly items = new Map<number, Item>();
  private readonly output: (OutputItem | undefined)[] = [];
  private readonly id: (prefix: string) => string;
  private readonly response: ResponseObject;
  private sequence = 0;
  private isStarted = false;
  private isFinished = false;
  private failedBeforeStart: GatewayError | undefined;
  private failedAfterStart: GatewayError | undefined;
  private api = '';
  /** A compaction request (compaction.ts): the answer is one `compaction` item, nothing else. */
  private readonly compaction: boolean;

  constructor(private readonly options: EncoderOptions) {
    this.compaction = isCompactionRequest(options.request);
    this.id = options.ids ?? ((prefix) => `${prefix}${randomUUID().replaceAll('-', '')}`);
    const request = options.request;
    this.response = {
      id: this.id('resp_'),
      object: 'response',
      created_at: options.createdAt ?? Math.floor(Date.now() / 1000),
      status: 'in_progress',
      background: false,
      error: null,
      incomplete_details: null,
      instructions: request.instructions ?? null,
      max_output_tokens: request.max_output_tokens ?? null,
      model: options.model,
      output: [],
      parallel_tool_calls: request.parallel_tool_calls ?? true,
      previous_response_id: null,
      reasoning: { effort: request.reasoning?.effort ?? null, summary: request.reasoning?.summary ?? null },
      store: request.store ?? false,
      temperature: request.temperature ?? null,
      text: { format: request.text?.format ?? { type: 'text' }, ...(request.text?.verbosity ? { verbosity: request.text.verbosity } : {}) },
      tool_choice: request.tool_choice ?? 'auto',
      tools: options.echoTools ?? [],
      top_p: request.top_p ?? null,
      truncation: 'disabled',
      usage: null,
      metadata: request.metadata ?? {},
      ...(request.prompt_cache_key !== undefined ? { prompt_cache_key: request.prompt_cache_key } : {}),
    };
  }

  /** `response.created` was produced; failures after it are `response.failed` events. */
  get started(): boolean {
    return this.isStarted;
  }

  /** A final event was produced; later events are ignored. */
  get finished(): boolean {
    return this.isFinished || this.failedBeforeStart !== undefined;
  }

  /** The stream failed before anything was produced: answer with this error's HTTP status instead. */
  get failure(): GatewayError | undefined {
    return this.failedBeforeStart;
  }

  /**
   * The finished response (`stream: false`), or the GatewayError it failed with: nothing has
   * been sent then, so it keeps its HTTP status.
   */
  result(): ResponseObject {
    if (!this.finished) this.end();
    const failure = this.failedBeforeStart ?? this.failedAfterStart;
    if (failure) throw failure;
    return this.response;
  }

  push(event: AssistantMessageEvent): ResponsesStreamEvent[] {
    if (this.finished) return [];
    const out: ResponsesStreamEvent[] = [];
    if (event.type === 'error') {
      this.fail(event.error, out);
      return out;
    }
    const partial = event.type === 'done' ? event.message : event.partial;
    this.api = partial.api;
    if (this.compaction) {
      // The summary is needed whole to make the item; tool calls and thinking are not part of it.
      if (event.type === 'done') this.completeCompaction(event.message, out);
      return out;
    }
    switch (event.type) {
      case 'start':
      case 'text_start':
      case 'thinking_start':
        break;
      case 'toolcall_start':
        this.openToolCall(event.contentIndex, partial, out);
        break;
      case 'text_delta':
      case 'thinking_delta': {
        if (event.delta === '') break;
        const item = this.itemFor(event.contentIndex, event.type === 'text_delta' ? 'message' : 'reasoning');
        this.appendText(item, event.delta, out);
        break;
      }
      case 'toolcall_delta': {
        const item = this.openToolCall(event.contentIndex, partial, out);
        if (!item || event.delta === '') break;
        item.text += event.delta;
        if (item.kind === 'function_call' && item.opened) {
          const type = 'response.function_call_arguments.delta';
          out.push({ type, sequence_number: this.sequence++, item_id: item.id, output_index: item.outputIndex, delta: event.delta });
        }
        break;
      }
      case 'text_end': {
        const item = this.itemFor(event.contentIndex, 'message');
        if (!item.opened && event.content !== '') this.appendText(item, event.content, out);
        this.finishMessage(item, out);
        break;
      }
      case 'thinking_end': {
        const item = this.itemFor(event.contentIndex, 'reasoning');
        this.finishReasoning(item, partial, event.contentIndex, out);
        break;
      }
      case 'toolcall_end': {
        const item = this.openToolCall(event.contentIndex, partial, out, true) as Item;
        this.finishToolCall(item, partial.content[event.contentIndex], out);
        break;
      }
      case 'done':
        this.complete(event.reason === 'length' ? 'incomplete' : 'completed', event.message, out);
        break;
    }
    return out;
  }

  /**
   * The pi-ai stream ended without `done` or `error` (or broke with `reason`): an error, never
   * a short answer.
   */
  end(reason = 'Upstream stream ended unexpectedly'): ResponsesStreamEvent[] {
    if (this.finished) return [];
    const out: ResponsesStreamEvent[] = [];
    this.fail({ stopReason: 'error', errorMessage: reason }, out);
    return out;
  }

  /**
   * The events that end a stream already open (keep-alives went out) that failed before any
   * content: the client needs a `response.failed` it can parse, after a `response.created`.
   */
  failedStream(error: GatewayError): ResponsesStreamEvent[] {
    const out: ResponsesStreamEvent[] = [];
    if (this.isFinished) return out;
    this.failedBeforeStart = undefined;
    this.ensureStarted(out);
    this.failWith(error, undefined, out);
    return out;
  }

  private ensureStarted(out: ResponsesStreamEvent[]): void {
    if (this.isStarted) return;
    this.isStarted = true;
    out.push(this.event('response.created', { response: this.snapshot() }));
    out.push(this.event('response.in_progress', { response: this.snapshot() }));
  }

  private itemFor(index: number, kind: Kind): Item {
    let item = this.items.get(index);
    if (!item) {
      item = { kind, id: '', outputIndex: -1, opened: false, ended: false, text: '', summaryOpened: false, callId: '', name: '' };
      this.items.set(index, item);
    }
    return item;
  }

  private open(item: Item, added: Record<string, unknown>, out: ResponsesStreamEvent[]): void {
    this.ensureStarted(out);
    item.opened = true;
    item.outputIndex = this.output.length;
    this.output.push(undefined);
    out.push(this.event('response.output_item.added', { output_index: item.outputIndex, item: added }));
  }

  private appendText(item: Item, delta: string, out: ResponsesStreamEvent[]): void {
    if (item.ended) return;
    if (item.kind === 'message') {
      if (!item.opened) {
        item.id = this.id('msg_');
        this.open(item, { id: item.id, type: 'message', status: 'in_progress', role: 'assistant', content: [] }, out);
        out.push(this.event('response.content_part.added', { ...this.at(item), content_index: 0, part: outputText('') }));
      }
      item.text += delta;
      // Literal, not this.event(): a spread after other members takes V8's slow path, and this
      // line was the encoder's top cost in the /v1/responses profile (one event per delta).
      const type = 'response.output_text.delta';
      out.push({ type, sequence_number: this.sequence++, item_id: item.id, output_index: item.outputIndex, content_index: 0, delta, logprobs: [] });
      return;
    }
    item.text += delta;
    // Reasoning without a summary asked for is not shown: its item comes at its end, if at all.
    if (!this.options.emitSummary) return;
    if (!item.opened) {
      item.id = this.id('rs_');
      this.open(item, { id: item.id, type: 'reasoning', summary: [] }, out);
    }
    if (!item.summaryOpened) {
      item.summaryOpened = true;
      out.push(this.event('response.reasoning_summary_part.added', { ...this.at(item), summary_index: 0, part: { type: 'summary_text', text: '' } }));
    }
    const type = 'response.reasoning_summary_text.delta';
    out.push({ type, sequence_number: this.sequence++, item_id: item.id, output_index: item.outputIndex, summary_index: 0, delta });
  }

  private finishMessage(item: Item, out: ResponsesStreamEvent[]): void {
    if (item.ended) return;
    item.ended = true;
    if (!item.opened) return;
    const part = outputText(item.text);
    out.push(this.event('response.output_text.done', { ...this.at(item), content_index: 0, text: item.text, logprobs: [] }));
    out.push(this.event('response.content_part.done', { ...this.at(item), content_index: 0, part }));
    this.done(item, { id: item.id, type: 'message', status: 'completed', role: 'assistant', content: [part] }, out);
  }

  private finishReasoning(item: Item, partial: AssistantMessage, index: number, out: ResponsesStreamEvent[]): void {
    if (item.ended) return;
    item.ended = true;
    const content = partial.content[index];
    const signature = content?.type === 'thinking' ? (content.thinkingSignature ?? '') : '';
    const redacted = content?.type === 'thinking' && content.redacted === true;
    // Only an Anthropic signature can be replayed (to an Anthropic target): others are not carried.
    const carry = this.options.emitEncrypted && partial.api === 'anthropic-messages' && signature !== '';
    const encrypted = carry ? encodeReasoning({ api: partial.api, thinking: redacted ? '' : item.text, signature, redacted }) : undefined;
    if (!item.opened) {
      if (encrypted === undefined) return;
      item.id = this.id('rs_');
      this.open(item, { id: item.id, type: 'reasoning', summary: [] }, out);
    }
    const summary = item.summaryOpened ? [{ type: 'summary_text', text: item.text }] : [];
    if (item.summaryOpened) {
      out.push(this.event('response.reasoning_summary_text.done', { ...this.at(item), summary_index: 0, text: item.text }));
      out.push(this.event('response.reasoning_summary_part.done', { ...this.at(item), summary_index: 0, part: summary[0] }));
    }
    this.done(item, { id: item.id, type: 'reasoning', summary, ...(encrypted !== undefined ? { encrypted_content: encrypted } : {}) }, out);
  }

  /** Opens a tool call's item once its id and name are known (or at its end, whatever is known then). */
  private openToolCall(index: number, partial: AssistantMessage, out: ResponsesStreamEvent[], force = false): Item | undefined {
    const item = this.itemFor(index, 'function_call');
    if (item.opened) return item;
    const call = partial.content[index];
    const id = call?.type === 'toolCall' ? call.id : '';
    const name = call?.type === 'toolCall' ? call.name : '';
    if (!force && (!id || !name)) return item;
    const client = this.options.tools.clientTool(name);
    item.kind = client.kind === 'custom' ? 'custom_tool_call' : 'function_call';
    item.callId = id || this.id('call_');
    item.name = client.name;
    if (client.namespace !== undefined) item.namespace = client.namespace;
    item.id = this.id(item.kind === 'custom_tool_call' ? 'ctc_' : 'fc_');
    const fields = item.kind === 'custom_tool_call' ? { input: '' } : { arguments: '' };
    this.open(item, { id: item.id, type: item.kind, status: 'in_progress', ...fields, call_id: item.callId, ...this.naming(item) }, out);
    // What was streamed before the item could open goes out with it.
    if (item.kind === 'function_call' && item.text !== '') {
      out.push(this.event('response.function_call_arguments.delta', { item_id: item.id, output_index: item.outputIndex, delta: item.text }));
    }
    return item;
  }

  private finishToolCall(item: Item, content: AssistantMessage['content'][number] | undefined, out: ResponsesStreamEvent[]): void {
    if (item.ended) return;
    item.ended = true;
    const args = content?.type === 'toolCall' ? content.arguments : {};
    const at = { item_id: item.id, output_index: item.outputIndex };
    if (item.kind === 'custom_tool_call') {
      const input = typeof args.input === 'string' ? args.input : JSON.stringify(args);
      out.push(this.event('response.custom_tool_call_input.delta', { ...at, delta: input }));
      out.push(this.event('response.custom_tool_call_input.done', { ...at, input }));
      this.done(item, { id: item.id, type: 'custom_tool_call', status: 'completed', input, call_id: item.callId, ...this.naming(item) }, out);
      return;
    }
    // The streamed text when it is the JSON the target meant; pi-ai's parse when it is not.
    const streamed = isJsonObject(item.text) ? item.text : JSON.stringify(args);
    out.push(this.event('response.function_call_arguments.done', { ...at, name: item.name, arguments: streamed }));
    this.done(item, { id: item.id, type: 'function_call', status: 'completed', arguments: streamed, call_id: item.callId, ...this.naming(item) }, out);
  }

  private naming(item: Item): { name: string; namespace?: string } {
    return item.namespace === undefined ? { name: item.name } : { name: item.name, namespace: item.namespace };
  }

  private done(item: Item, final: OutputItem, out: ResponsesStreamEvent[]): void {
    this.output[item.outputIndex] = final;
    out.push(this.event('response.output_item.done', { output_index: item.outputIndex, item: final }));
  }

  private complete(status: 'completed' | 'incomplete', message: AssistantMessage, out: ResponsesStreamEvent[]): void {
    for (const [index, item] of [...this.items].sort((a, b) => a[0] - b[0])) {
      if (item.kind === 'message') this.finishMessage(item, out);
      else if (item.kind === 'reasoning') this.finishReasoning(item, message, index, out);
      else {
        this.openToolCall(index, message, out, true);
        this.finishToolCall(item, message.content[index], out);
      }
    }
    this.ensureStarted(out);
    this.response.status = status;
    if (status === 'incomplete') this.response.incomplete_details = { reason: 'max_output_tokens' };
    this.response.usage = responseUsage(message.usage);
    this.response.output = this.output.filter((i) => i !== undefined);
    out.push(this.event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: this.snapshot() }));
    this.isFinished = true;
  }

  private completeCompaction(message: AssistantMessage, out: ResponsesStreamEvent[]): void {
    const summary = message.content
      .map((c) => (c.type === 'text' ? c.text : ''))
      .join('')
      .trim();
    if (summary === '') {
      // Codex fails the turn on anything but one compaction item: an error says why, an empty item would not.
      this.fail({ stopReason: 'error', errorMessage: 'The target model wrote no summary for the compaction' }, out);
      return;
    }
    this.ensureStarted(out);
    const item: OutputItem = { id: this.id('cmp_'), type: 'compaction', encrypted_content: encodeCompaction(summary) };
    const outputIndex = this.output.length;
    this.output.push(item);
    out.push(this.event('response.output_item.added', { output_index: outputIndex, item }));
    out.push(this.event('response.output_item.done', { output_index: outputIndex, item }));
    // A summary cut at max tokens is still a summary: Codex would fail the turn on `incomplete`.
    this.complete('completed', message, out);
  }

  private fail(failed: Pick<AssistantMessage, 'errorMessage' | 'stopReason'> & Partial<AssistantMessage>, out: ResponsesStreamEvent[]): void {
    const error = upstreamErrorToGatewayError(failed, this.options.observedStatus?.());
    if (!this.isStarted) {
      this.failedBeforeStart = error;
      return;
    }
    this.failWith(error, failed.usage, out);
  }

  private failWith(error: GatewayError, usage: Usage | undefined, out: ResponsesStreamEvent[]): void {
    this.failedAfterStart = error;
    this.response.status = 'failed';
    this.response.error = { code: responseErrorCode(error), message: error.message };
    this.response.output = this.output.filter((i) => i !== undefined);
    if (usage) this.response.usage = responseUsage(usage);
    out.push(this.event('response.failed', { response: this.snapshot() }));
    this.isFinished = true;
  }

  private at(item: Item): { item_id: string; output_index: number } {
    return { item_id: item.id, output_index: item.outputIndex };
  }

  private snapshot(): ResponseObject {
    return { ...this.response, output: [...this.response.output] };
  }

  private event(type: string, fields: Record<string, unknown>): ResponsesStreamEvent {
    return { type, sequence_number: this.sequence++, ...fields };
  }
}

function outputText(text: string): Record<string, unknown> {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

/** OpenAI's usage: input includes cached tokens (pi-ai's `input` does not). */
export function responseUsage(usage: Usage): ResponseUsage {
  const input = usage.input + usage.cacheRead + usage.cacheWrite;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage.cacheRead },
    output_tokens: usage.output,
    // Where the upstream reported them (reasoning-usage.ts); else 0.
    output_tokens_details: { reasoning_tokens: reasoningTokens(usage) },
    total_tokens: input + usage.output,
  };
}

/**
 * The `response.error.code` Codex reads: `context_length_exceeded` makes it compact the
 * conversation, `rate_limit_exceeded` makes it wait and retry, anything else is shown.
 */
export function responseErrorCode(error: GatewayError): string {
  if (error.status === 429) return 'rate_limit_exceeded';
  if (error.code === ErrorCode.BadRequest && error.message.startsWith('prompt is too long')) return 'context_length_exceeded';
  if (error.status >= 500) return 'server_error';
  return error.code === ErrorCode.BadRequest ? 'invalid_request_error' : error.code;
}

function isJsonObject(text: string): boolean {
  if (text.trim() === '') return false;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  } catch {
    return false;
  }
}

