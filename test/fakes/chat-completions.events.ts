import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { splitInPieces, toolArguments, turnStopReason, turnUsage, type FakeTurn } from './fake-turn.js';
import type { TurnContext } from './provider-fake.js';

// Reasoning is not part of OpenAI's chat format; compatible servers (DeepSeek, vLLM, llama.cpp)
// stream it as `reasoning_content`, which pi-ai reads.
type Delta = ChatCompletionChunk.Choice.Delta & { reasoning_content?: string };
type Chunk = Omit<ChatCompletionChunk, 'choices'> & {
  choices: Array<Omit<ChatCompletionChunk.Choice, 'delta'> & { delta: Delta }>;
};
/** A `data:` payload: a chunk, an in-stream error, or the `[DONE]` sentinel. */
export type ChatWirePayload = Chunk | { error: { message: string; type: string; param: null; code: string | null } } | '[DONE]';

const FINISH_REASONS = { stop: 'stop', length: 'length', toolUse: 'tool_calls' } as const;

/** Renders a turn as chat completions stream it; the usage chunk only with `stream_options.include_usage`. */
export function chatCompletionChunks(turn: FakeTurn, ctx: TurnContext): ChatWirePayload[] {
  const includeUsage = (ctx.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  const id = ctx.nextId('chatcmpl-');
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Delta, finish: Chunk['choices'][number]['finish_reason'] = null): Chunk => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: ctx.model,
    system_fingerprint: 'fp_fake',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  });

  const payloads: ChatWirePayload[] = [chunk({ role: 'assistant', content: '', refusal: null })];
  for (const reasoning_content of turn.reasoning ?? []) payloads.push(chunk({ reasoning_content }));
  for (const content of turn.text ?? []) payloads.push(chunk({ content }));
  (turn.toolCalls ?? []).forEach((call, index) => {
    const opening = { index, id: call.id ?? ctx.nextId('call_'), type: 'function' as const };
    payloads.push(chunk({ tool_calls: [{ ...opening, function: { name: call.name, arguments: '' } }] }));
    for (const piece of splitInPieces(toolArguments(call))) {
      payloads.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  if (turn.streamError) {
    const { message, code = null } = turn.streamError;
    payloads.push({ error: { message, type: 'server_error', param: null, code } }, '[DONE]');
    return payloads;
  }
  payloads.push(chunk({}, FINISH_REASONS[turnStopReason(turn)]));
  if (includeUsage) payloads.push({ ...chunk({}), choices: [], usage: chatUsage(turn) });
  payloads.push('[DONE]');
  return payloads;
}

export function chatCompletion(turn: FakeTurn, ctx: TurnContext): ChatCompletion {
  const toolCalls = (turn.toolCalls ?? []).map((call) => ({
    id: call.id ?? ctx.nextId('call_'),
    type: 'function' as const,
    function: { name: call.name, arguments: toolArguments(call) },
  }));
  return {
    id: ctx.nextId('chatcmpl-'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: ctx.model,
    system_fingerprint: 'fp_fake',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: turn.text?.length ? turn.text.join('') : null,
          refusal: null,
          annotations: [],
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: FINISH_REASONS[turnStopReason(turn)],
      },
    ],
    usage: chatUsage(turn),
  };
}

/** OpenAI counts cached tokens inside prompt_tokens. */
function chatUsage(turn: FakeTurn): CompletionUsage {
  const u = turnUsage(turn);
  const prompt = u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: u.outputTokens,
    total_tokens: prompt + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cacheReadTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: u.reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}
