import type { OutgoingHttpHeaders } from 'node:http';
import type { RecordedRequest } from './fake-upstream.js';
import type { StreamFault, StreamPacing } from './sse-stream.js';

export interface FakeToolCall {
  name: string;
  /** An object is sent JSON-encoded; a string is sent verbatim (it may be invalid JSON on purpose). */
  arguments: Record<string, unknown> | string;
  /** The provider's id (`toolu_…`, `call_…`); generated when absent. */
  id?: string;
}

/** Token counts in pi-ai's terms; each fake maps them to its provider's fields. */
export interface FakeUsage {
  /** Input tokens not read from the cache (OpenAI's input_tokens minus cached_tokens). */
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** The part of `outputTokens` spent on reasoning. */
  reasoningTokens: number;
}

export interface FakeHttpError {
  status: number;
  message?: string;
  /** Replaces the provider-shaped error body. */
  body?: unknown;
  headers?: OutgoingHttpHeaders;
}

/** An error reported inside a 200 stream, in place of the provider's final events. */
export interface FakeStreamError {
  message: string;
  code?: string;
  /** Responses API only: a bare `error` event instead of `response.failed`. */
  bareErrorEvent?: boolean;
}

/** One scripted model answer, provider-neutral: every fake renders it in its own wire format. */
export interface FakeTurn {
  /** Reasoning deltas, streamed before the text. */
  reasoning?: string[];
  /** Text deltas, one event each. */
  text?: string[];
  /** Tool calls, streamed after the text; arguments arrive in a few deltas. */
  toolCalls?: FakeToolCall[];
  usage?: Partial<FakeUsage>;
  /** Defaults to `toolUse` when there are tool calls, else `stop`. */
  stopReason?: 'stop' | 'length' | 'toolUse';
  /** Answer with this HTTP error instead. */
  httpError?: FakeHttpError;
  streamError?: FakeStreamError;
  pace?: StreamPacing;
  fault?: StreamFault;
}

/**
 * What a provider fake answers: one turn for every request, one turn per request in order
 * (the last one repeats), or a function of the request.
 */
export type FakeScript = FakeTurn | readonly FakeTurn[] | ((req: RecordedRequest, index: number) => FakeTurn);

export function pickTurn(script: FakeScript, req: RecordedRequest, index: number): FakeTurn {
  if (typeof script === 'function') return script(req, index);
  if (isTurnList(script)) return script[Math.min(index, script.length - 1)] ?? {};
  return script;
}

function isTurnList(script: FakeTurn | readonly FakeTurn[]): script is readonly FakeTurn[] {
  return Array.isArray(script);
}

export function turnUsage(turn: FakeTurn): FakeUsage {
  return { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, ...turn.usage };
}

export function turnStopReason(turn: FakeTurn): 'stop' | 'length' | 'toolUse' {
  return turn.stopReason ?? (turn.toolCalls?.length ? 'toolUse' : 'stop');
}

export function toolArguments(call: FakeToolCall): string {
  return typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
}

/** Splits `text` into `parts` pieces (fewer if it is short), as upstreams stream tool arguments. */
export function splitInPieces(text: string, parts = 3): string[] {
  const size = Math.max(1, Math.ceil(text.length / parts));
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += size) pieces.push(text.slice(at, at + size));
  return pieces;
}

/** Ids unique within one fake, so a multi-turn conversation never sees a tool id twice. */
export function createIdSource(): (prefix: string) => string {
  let next = 0;
  return (prefix) => `${prefix}fake${String(++next).padStart(4, '0')}`;
}
