import { getOverflowPatterns, type AssistantMessage } from '@mariozechner/pi-ai';
import { ERROR_CODES, ErrorCode } from '../../errors/error-codes.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { redactSecrets } from '../secret-redactor.js';
import type { AnthropicErrorBody } from './anthropic-events.js';

/**
 * pi-ai never throws for upstream failures: they end the stream as an `error` event whose
 * message has `errorMessage`. The SDK-based providers (Anthropic, OpenAI, Google) start it with
 * the HTTP status (`429 {"type":"error",...}`, `401 Incorrect API key ...`); the Codex provider
 * does not, which is why the caller can pass the status its `onResponse` hook saw, and neither
 * does Google's SDK, whose message is the error body itself (`{"error":{"code":429,...}}`).
 */
export function upstreamErrorToGatewayError(failed: Pick<AssistantMessage, 'errorMessage' | 'stopReason'>, observedStatus?: number): GatewayError {
  const raw = failed.errorMessage ?? '';
  const { status, text } = readFailure(raw, observedStatus);
  const message = redactSecrets(text) || 'Upstream request failed';

  if (failed.stopReason === 'aborted') {
    return new GatewayError(ErrorCode.UpstreamTimeout, 'Upstream request was aborted');
  }
  // Claude Code compacts the conversation when it reads "prompt is too long".
  if (status !== 429 && getOverflowPatterns().some((p) => p.test(raw)) && !/rate limit|too many requests/i.test(raw)) {
    return new GatewayError(ErrorCode.BadRequest, `prompt is too long: ${message}`);
  }
  switch (status) {
    case 400:
    case 422:
      return new GatewayError(ErrorCode.BadRequest, message);
    case 401:
      // The provider rejected the gateway's credentials, not the client's: a 401 would send
      // Claude Code to log in again, which cannot help.
      return new GatewayError(ErrorCode.UpstreamError, `Upstream rejected the provider credentials: ${message}`);
    case 403:
      return new GatewayError(ErrorCode.Forbidden, `Upstream denied access: ${message}`);
    case 404:
      return new GatewayError(ErrorCode.NotFound, message);
    case 408:
    case 504:
      return new GatewayError(ErrorCode.UpstreamTimeout, message);
    case 413:
      return new GatewayError(ErrorCode.PayloadTooLarge, message);
    case 429:
      return new GatewayError(ErrorCode.RateLimited, message);
    case 503:
      return new GatewayError(ErrorCode.Unavailable, message);
    case 529:
      return new GatewayError(ErrorCode.Overloaded, message);
    default:
      break;
  }
  if (/overloaded/i.test(raw)) return new GatewayError(ErrorCode.Overloaded, message);
  if (/usage limit|rate.?limit|too many requests/i.test(raw)) return new GatewayError(ErrorCode.RateLimited, message);
  if (/timed? ?out|timeout|ETIMEDOUT/i.test(raw)) return new GatewayError(ErrorCode.UpstreamTimeout, message);
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|socket hang up|fetch failed|Connection error/i.test(raw)) {
    return new GatewayError(ErrorCode.UpstreamUnreachable, `Upstream unreachable: ${message}`);
  }
  return new GatewayError(ErrorCode.UpstreamError, message);
}

/** The upstream's HTTP status of a failed stream, as {@link upstreamErrorToGatewayError} reads it; undefined when it names none. */
export function upstreamStatus(failed: Pick<AssistantMessage, 'errorMessage'>, observedStatus?: number): number | undefined {
  return readFailure(failed.errorMessage ?? '', observedStatus).status;
}

/** The status (from the message's start, the transport's hook or Google's error body) and the upstream's own message. */
function readFailure(raw: string, observedStatus: number | undefined): { status: number | undefined; text: string } {
  const parsed = /^(\d{3})\b\s*(.*)$/s.exec(raw);
  if (parsed) return { status: Number(parsed[1]), text: innerMessage(parsed[2]) };
  const google = googleError(raw);
  if (observedStatus !== undefined && observedStatus >= 400) return { status: observedStatus, text: google?.message ?? innerMessage(raw) };
  return { status: google?.code, text: google?.message ?? innerMessage(raw) };
}

/** The Anthropic `error` object for an SSE error frame (the status is already 200 by then). */
export function anthropicErrorBody(error: GatewayError): AnthropicErrorBody {
  return { type: ERROR_CODES[error.code].anthropicType, message: error.message };
}

/**
 * Refusals and content filters end pi-ai streams as errors; Anthropic reports them as a normal
 * message with stop reason `refusal`.
 */
export function isRefusal(failed: Pick<AssistantMessage, 'errorMessage' | 'stopReason'>): boolean {
  return failed.stopReason === 'error' && /content_filter|refusal|finish_reason: (safety|prohibited)/i.test(failed.errorMessage ?? '');
}

/** `{"type":"error","error":{"message":"..."}}` bodies carry their message one level down. */
function innerMessage(text: string): string {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return trimmed;
  try {
    const body = JSON.parse(trimmed) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof body.error === 'object' && typeof body.error?.message === 'string') return body.error.message;
    if (typeof body.error === 'string') return body.error;
    if (typeof body.message === 'string') return body.message;
  } catch {
    // Not JSON: keep it as it is.
  }
  return trimmed;
}

/**
 * Google's error body, which @google/genai makes the whole message of an HTTP error
 * (`{"error":{"code":429,"message":"…","status":"RESOURCE_EXHAUSTED"}}`), or of an error inside
 * a stream (`got status: RESOURCE_EXHAUSTED. {"error":…}`): its HTTP code and message.
 */
function googleError(raw: string): { code: number; message: string } | undefined {
  const json = /^(?:got status: \S+\. )?(\{.*\})\s*$/s.exec(raw)?.[1];
  if (!json) return undefined;
  try {
    const body = JSON.parse(json) as { error?: { code?: unknown; message?: unknown } };
    const code = body.error?.code;
    if (typeof code !== 'number' || code < 400 || code > 599) return undefined;
    return { code, message: typeof body.error?.message === 'string' ? body.error.message : '' };
  } catch {
    return undefined;
  }
}
