import type {
  Response,
  ResponseError,
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseReasoningItem,
  ResponseStreamEvent,
  ResponseUsage,
  Tool,
} from 'openai/resources/responses/responses';
import { splitInPieces, toolArguments, turnStopReason, turnUsage, type FakeTurn } from './fake-turn.js';
import type { TurnContext } from './provider-fake.js';

// Typed against the official SDK so the fake cannot drift from the real wire shapes.
// `output_text` is a convenience the SDK adds after parsing; it is not on the wire.
export type WireResponse = Omit<Response, 'output_text'>;
type Wire<E> = E extends { response: Response } ? Omit<E, 'response'> & { response: WireResponse } : E;
export type ResponsesWireEvent = Wire<ResponseStreamEvent>;
type Unsequenced<E> = E extends unknown ? Omit<E, 'sequence_number'> : never;
type NewEvent = Unsequenced<ResponsesWireEvent>;

export interface ResponsesTurn {
  events: ResponsesWireEvent[];
  /** The final response object: the body of a non-streaming answer. */
  response: WireResponse;
}

/** Renders a turn as the Responses API streams it: every event the SDK and Codex CLI read. */
export function responsesTurn(turn: FakeTurn, ctx: TurnContext): ResponsesTurn {
  const events: ResponsesWireEvent[] = [];
  const emit = (event: NewEvent): void => {
    events.push({ ...event, sequence_number: events.length });
  };
  const response = baseResponse(ctx);
  emit({ type: 'response.created', response: { ...response } });
  emit({ type: 'response.in_progress', response: { ...response } });

  const output: ResponseOutputItem[] = [];
  const add = (item: ResponseOutputItem, stream: (outputIndex: number) => void): void => {
    const outputIndex = output.length;
    output.push(item);
    stream(outputIndex);
  };
  if (turn.reasoning?.length) add(reasoningItem(turn.reasoning, ctx), (i) => emitReasoning(emit, output, i));
  if (turn.text?.length) add(messageItem(turn.text, ctx), (i) => emitMessage(emit, output, i, turn.text!));
  for (const call of turn.toolCalls ?? []) {
    const item: ResponseFunctionToolCall = {
      id: ctx.nextId('fc_'),
      type: 'function_call',
      status: 'completed',
      call_id: call.id ?? ctx.nextId('call_'),
      name: call.name,
      arguments: toolArguments(call),
    };
    add(item, (i) => emitFunctionCall(emit, item, i));
  }

  if (turn.streamError) {
    const { message, code = 'server_error', bareErrorEvent } = turn.streamError;
    if (bareErrorEvent) emit({ type: 'error', code, message, param: null });
    else {
      const error = { code: code as ResponseError['code'], message };
      emit({ type: 'response.failed', response: { ...response, status: 'failed', error, output } });
    }
    return { events, response: { ...response, status: 'failed', output } };
  }
  const final = finalResponse(response, turn, output);
  emit({ type: final.status === 'incomplete' ? 'response.incomplete' : 'response.completed', response: final });
  return { events, response: final };
}

function baseResponse({ body, model, nextId }: TurnContext): WireResponse {
  return {
    id: nextId('resp_'),
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: typeof body.instructions === 'string' ? body.instructions : null,
    max_output_tokens: typeof body.max_output_tokens === 'number' ? body.max_output_tokens : null,
    metadata: {},
    model,
    output: [],
    parallel_tool_calls: body.parallel_tool_calls !== false,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: 'auto',
    temperature: 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: (Array.isArray(body.tools) ? body.tools : []) as Tool[],
    top_p: 1,
    truncation: 'disabled',
  };
}

function finalResponse(response: WireResponse, turn: FakeTurn, output: ResponseOutputItem[]): WireResponse {
  const incomplete = turnStopReason(turn) === 'length';
  return {
    ...response,
    status: incomplete ? 'incomplete' : 'completed',
    completed_at: incomplete ? null : Math.floor(Date.now() / 1000),
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    output,
    usage: responsesUsage(turn),
  };
}

/** OpenAI counts cached tokens inside input_tokens (pi-ai subtracts them again). */
export function responsesUsage(turn: FakeTurn): ResponseUsage {
  const u = turnUsage(turn);
  const input = u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: u.cacheReadTokens, cache_write_tokens: u.cacheWriteTokens },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens },
    total_tokens: input + u.outputTokens,
  };
}

function reasoningItem(deltas: string[], { nextId }: TurnContext): ResponseReasoningItem {
  const id = nextId('rs_');
  return {
    id,
    type: 'reasoning',
    summary: [{ type: 'summary_text', text: deltas.join('') }],
    // Opaque on the real API; clients send it back verbatim on the next turn.
    encrypted_content: Buffer.from(`fake-reasoning:${id}`).toString('base64'),
  };
}

function messageItem(deltas: string[], { nextId }: TurnContext): ResponseOutputMessage {
  const text = { type: 'output_text' as const, text: deltas.join(''), annotations: [], logprobs: [] };
  return { id: nextId('msg_'), type: 'message', role: 'assistant', status: 'completed', content: [text] };
}

function emitReasoning(emit: (e: NewEvent) => void, output: ResponseOutputItem[], outputIndex: number): void {
  const item = output[outputIndex] as ResponseReasoningItem;
  const text = item.summary[0].text;
  const at = { item_id: item.id, output_index: outputIndex, summary_index: 0 };
  emit({ type: 'response.output_item.added', output_index: outputIndex, item: { ...item, summary: [] } });
  emit({ type: 'response.reasoning_summary_part.added', ...at, part: { type: 'summary_text', text: '' } });
  for (const delta of splitInPieces(text, 2)) emit({ type: 'response.reasoning_summary_text.delta', ...at, delta });
  emit({ type: 'response.reasoning_summary_text.done', ...at, text });
  emit({ type: 'response.reasoning_summary_part.done', ...at, part: { type: 'summary_text', text } });
  emit({ type: 'response.output_item.done', output_index: outputIndex, item });
}

function emitMessage(
  emit: (e: NewEvent) => void,
  output: ResponseOutputItem[],
  outputIndex: number,
  deltas: string[],
): void {
  const item = output[outputIndex] as ResponseOutputMessage;
  const part = item.content[0] as ResponseOutputText;
  const text = deltas.join('');
  const at = { item_id: item.id, output_index: outputIndex, content_index: 0 };
  emit({
    type: 'response.output_item.added',
    output_index: outputIndex,
    item: { ...item, status: 'in_progress', content: [] },
  });
  emit({ type: 'response.content_part.added', ...at, part: { ...part, text: '' } });
  for (const delta of deltas) emit({ type: 'response.output_text.delta', ...at, delta, logprobs: [] });
  emit({ type: 'response.output_text.done', ...at, text, logprobs: [] });
  emit({ type: 'response.content_part.done', ...at, part });
  emit({ type: 'response.output_item.done', output_index: outputIndex, item });
}

function emitFunctionCall(emit: (e: NewEvent) => void, item: ResponseFunctionToolCall, outputIndex: number): void {
  const at = { item_id: item.id!, output_index: outputIndex };
  emit({
    type: 'response.output_item.added',
    output_index: outputIndex,
    item: { ...item, status: 'in_progress', arguments: '' },
  });
  for (const delta of splitInPieces(item.arguments)) {
    emit({ type: 'response.function_call_arguments.delta', ...at, delta });
  }
  emit({ type: 'response.function_call_arguments.done', ...at, name: item.name, arguments: item.arguments });
  emit({ type: 'response.output_item.done', output_index: outputIndex, item });
}
