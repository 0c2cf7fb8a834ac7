import { toolArguments, turnStopReason, turnUsage, type FakeToolCall, type FakeTurn } from './fake-turn.js';
import type { TurnContext } from './provider-fake.js';

/**
 * One `GenerateContentResponse` as the Gemini API sends it on the wire (camelCase JSON, the
 * fields of the REST reference the fake sends): a stream chunk of
 * `:streamGenerateContent?alt=sse`, or the whole answer of `:generateContent`. Typed here
 * rather than with `@google/genai`, which piapi does not depend on (it comes with pi-ai).
 */
export interface GeminiResponse {
  candidates: Candidate[];
  usageMetadata?: UsageMetadata;
  modelVersion: string;
  responseId: string;
}

interface Candidate {
  content: { role: 'model'; parts: Part[] };
  /** Set on the last chunk only: the model has stopped. */
  finishReason?: 'STOP' | 'MAX_TOKENS';
  index: number;
}

type Part = { text: string; thought?: true } | { functionCall: FunctionCall };

interface FunctionCall {
  name: string;
  args: Record<string, unknown>;
  id?: string;
}

interface UsageMetadata {
  promptTokenCount: number;
  candidatesTokenCount: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  totalTokenCount: number;
}

/** Google's error body: `{ error: { code, message, status } }` with a canonical status name. */
export interface GeminiErrorBody {
  error: { code: number; message: string; status: string };
}

const FINISH_REASONS = { stop: 'STOP', length: 'MAX_TOKENS', toolUse: 'STOP' } as const;

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export function geminiErrorBody(code: number, message: string): GeminiErrorBody {
  return { error: { code, message, status: STATUS_NAMES[code] ?? (code >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION') } };
}

/**
 * Renders a turn as Gemini streams it: one chunk per reasoning delta (`thought: true`), one per
 * text delta, one per tool call (Gemini sends a call whole, its `args` an object, and no id
 * unless the script gives one), the finish reason and usage on the last chunk.
 */
export function geminiChunks(turn: FakeTurn, ctx: TurnContext): Array<GeminiResponse | GeminiErrorBody> {
  const responseId = ctx.nextId('resp');
  const chunk = (parts: Part[]): GeminiResponse => ({
    candidates: [{ content: { role: 'model', parts }, index: 0 }],
    modelVersion: ctx.model,
    responseId,
  });
  const chunks = geminiParts(turn).map((part) => chunk([part]));
  if (turn.streamError) {
    return [...chunks, geminiErrorBody(500, turn.streamError.message)];
  }
  const last = chunks.at(-1) ?? chunk([]);
  if (chunks.length === 0) chunks.push(last);
  last.candidates[0].finishReason = FINISH_REASONS[turnStopReason(turn)];
  last.usageMetadata = geminiUsage(turn);
  return chunks;
}

/** The non-streamed answer: every part in one candidate. */
export function geminiResponse(turn: FakeTurn, ctx: TurnContext): GeminiResponse {
  return {
    candidates: [
      {
        content: { role: 'model', parts: geminiParts(turn) },
        finishReason: FINISH_REASONS[turnStopReason(turn)],
        index: 0,
      },
    ],
    usageMetadata: geminiUsage(turn),
    modelVersion: ctx.model,
    responseId: ctx.nextId('resp'),
  };
}

function geminiParts(turn: FakeTurn): Part[] {
  const parts: Part[] = [];
  for (const text of turn.reasoning ?? []) parts.push({ text, thought: true });
  for (const text of turn.text ?? []) parts.push({ text });
  for (const call of turn.toolCalls ?? []) parts.push({ functionCall: functionCall(call) });
  return parts;
}

function functionCall(call: FakeToolCall): FunctionCall {
  // Gemini's args are a JSON object: a script's deliberately broken string cannot be sent.
  const args = JSON.parse(toolArguments(call)) as Record<string, unknown>;
  return { name: call.name, args, ...(call.id ? { id: call.id } : {}) };
}

/** Gemini counts cached tokens inside promptTokenCount and thoughts apart from candidates. */
function geminiUsage(turn: FakeTurn): UsageMetadata {
  const u = turnUsage(turn);
  const prompt = u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens;
  return {
    promptTokenCount: prompt,
    candidatesTokenCount: u.outputTokens - u.reasoningTokens,
    ...(u.reasoningTokens ? { thoughtsTokenCount: u.reasoningTokens } : {}),
    ...(u.cacheReadTokens ? { cachedContentTokenCount: u.cacheReadTokens } : {}),
    totalTokenCount: prompt + u.outputTokens,
  };
}
