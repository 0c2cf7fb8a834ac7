import { streamSimple, type Api, type AssistantMessageEvent, type Context, type Model, type SimpleStreamOptions, type Usage } from '@mariozechner/pi-ai';
import type { GatewayConfig, Provider, User } from '../config/gateway-config.js';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { UpstreamErrorReason } from '../observability/metric-names.js';
import { upstreamErrorToGatewayError } from './anthropic/upstream-error.js';
import { streamAnthropicMessages } from './anthropic-upstream/anthropic-messages.stream.js';
import { streamCodexResponses } from './codex/codex-responses.stream.js';
import { originOf, recentErrorHead, watchErrorResponseHeads } from './error-response-heads.js';
import { streamGeminiGenerateContent } from './gemini/generate-content.stream.js';
import { requiresThoughtSignatures, withThoughtSignatures } from './gemini/thought-signatures.js';
import { installStreamEndCheck, STREAM_END_CHECK_HEADER, type StreamKind } from './stream-end-check.js';
import { guardUpstream } from './upstream-guard.js';

export interface UpstreamRequest {
  config: GatewayConfig;
  provider: Provider;
  model: Model<Api>;
  context: Context;
  options: SimpleStreamOptions;
  apiKey: string;
  /** The client going away. */
  signal: AbortSignal;
  sessionId?: string;
}

export interface UpstreamCall {
  events: AsyncIterable<AssistantMessageEvent>;
  /** The upstream's HTTP status once its response began (Codex errors carry none in their message). */
  observedStatus: () => number | undefined;
  /** The whole seconds of the `retry-after` of the upstream's error response (of that status), when it had one. */
  retryAfterSeconds: (status?: number) => number | undefined;
  /** The headers of the upstream's error response (of that status), for cooldown hints. */
  errorHeaders: (status?: number) => Readonly<Record<string, string>> | undefined;
  /** An upstream error response's body, when the transport shows it (ChatGPT's usage_limit_reached). */
  errorText: () => string | undefined;
}

/** What piapi's own transports (the Codex one) accept beyond pi-ai's options. */
export interface TransportOptions extends SimpleStreamOptions {
  /** The body of an error response, before it becomes the error's message. */
  onErrorBody?: (text: string) => void;
}

/**
 * One call of a pi-ai model for a translated route (`/v1/messages`, `/v1/responses`): the
 * model's transport, the provider's headers, the config's timeouts and the stream checks of
 * {@link guardUpstream}. A synchronous failure (e.g. "No API key") is a GatewayError.
 */
export function callUpstream(req: UpstreamRequest): UpstreamCall {
  watchErrorResponseHeads();
  const { config, provider, model } = req;
  let upstreamStatus: number | undefined;
  let retryAfter: number | undefined;
  let errorHeaders: Record<string, string> | undefined;
  let errorText: string | undefined;
  // Cancelled by the client going away, or by the guard when the upstream stalls. Not
  // AbortSignal.any(): Node pins a composite signal that has an abort listener (the SDKs add one
  // and never remove it) until it aborts, which leaked one per request.
  const upstream = new AbortController();
  if (req.signal.aborted) upstream.abort();
  else req.signal.addEventListener('abort', () => upstream.abort(), { once: true });
  try {
    const piEvents = streamModel(model, req.context, {
      ...req.options,
      apiKey: req.apiKey,
      signal: upstream.signal,
      headers: upstreamHeaders(model, provider),
      // One transport everywhere (Node 20 and 22 alike): what the fakes and the pass-through speak.
      transport: 'sse',
      sessionId: req.sessionId ?? req.options.sessionId,
      onResponse: (response) => {
        upstreamStatus = response.status;
        if (response.status >= 400) {
          retryAfter = retryAfterSeconds(response.headers['retry-after']);
          errorHeaders = response.headers;
        }
      },
      onErrorBody: (text) => {
        errorText = text;
      },
    });
    const events = guardUpstream(piEvents, {
      headersTimeoutMs: config.http.headersTimeoutMs,
      idleTimeoutMs: config.http.idleTimeoutMs,
      abortUpstream: () => upstream.abort(),
      model,
      secrets: [req.apiKey],
    });
    // pi-ai's SDK providers drop an error response's headers: found again by key (error-response-heads.ts).
    const origin = originOf(model.baseUrl);
    const headOf = (status?: number) =>
      errorHeaders ?? (status !== undefined && origin !== undefined ? recentErrorHead(origin, status, req.apiKey) : undefined);
    return {
      events,
      observedStatus: () => upstreamStatus,
      retryAfterSeconds: (status) => retryAfter ?? retryAfterSeconds(headOf(status)?.['retry-after']),
      errorHeaders: headOf,
      errorText: () => errorText,
    };
  } catch (err) {
    throw upstreamErrorToGatewayError({ stopReason: 'error', errorMessage: err instanceof Error ? err.message : String(err) });
  }
}

/** `retry-after` as whole seconds: a number of seconds or an HTTP date. */
export function retryAfterSeconds(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** The same error, with the upstream's `retry-after` when it is a 429 or 503 that had one. */
export function withRetryAfter(error: GatewayError, seconds: number | undefined): GatewayError {
  if (seconds === undefined || error.retryAfterSeconds !== undefined || (error.status !== 429 && error.status !== 503)) return error;
  return new GatewayError(error.code, error.message, error.statusOverride, seconds);
}

/**
 * pi-ai's stream for the model's API. Codex and Gemini go through piapi's own transports, and
 * Anthropic Messages through pi-ai's provider on piapi's HTTP client (see their files).
 */
function streamModel(model: Model<Api>, context: Context, given: TransportOptions): AsyncIterable<AssistantMessageEvent> {
  const gemini3 = (model.api === 'google-generative-ai' || model.api === 'google-vertex') && requiresThoughtSignatures(model.id);
  const options = gemini3 ? withSignedCalls(given) : given;
  if (model.api === 'openai-codex-responses') return streamCodexResponses(model, context, options);
  if (model.api === 'anthropic-messages') return streamAnthropicMessages(model, context, options);
  if (model.api === 'google-generative-ai') return streamGeminiGenerateContent(model, context, options);
  return streamSimple(model, context, options);
}

/** The Gemini payload (pi-ai's, or piapi's transport's), with Gemini 3's stand-in signatures (gemini/thought-signatures.ts) after the route's own patch. */
function withSignedCalls(options: TransportOptions): TransportOptions {
  const patch = options.onPayload;
  return {
    ...options,
    onPayload: async (payload, model) => {
      const patched = ((await patch?.(payload, model)) ?? payload) as { contents?: unknown };
      return Array.isArray(patched.contents) ? { ...patched, contents: withThoughtSignatures(patched.contents) } : patched;
    },
  };
}

/**
 * The provider's headers; requests of the APIs whose SDK path takes a short body for a whole
 * answer also ask for the check of their stream's end (stream-end-check.ts).
 */
function upstreamHeaders(model: Model<Api>, provider: Provider): Record<string, string> | undefined {
  const kind = END_CHECKED.get(model.api);
  if (kind === undefined) return provider.llm?.headers;
  installStreamEndCheck();
  return { ...provider.llm?.headers, [STREAM_END_CHECK_HEADER]: kind };
}

const END_CHECKED: ReadonlyMap<string, StreamKind> = new Map([
  ['openai-completions', 'chat-completions'],
  ['google-vertex', 'gemini'],
]);

/** The caller's provider, when it has an `llm` block (else a 404 that says why). */
export function llmProvider(user: User): Provider {
  if (!user.provider.llm) {
    throw new GatewayError(
      ErrorCode.NotFound,
      `Provider "${user.provider.name}" has no llm block: it is reachable through /piapi/<service_type>/ only`,
    );
  }
  return user.provider;
}

export function usageOf(usage: Usage): { model?: string; input: number; output: number; cacheRead: number; cacheWrite: number } {
  return { input: usage.input, output: usage.output, cacheRead: usage.cacheRead, cacheWrite: usage.cacheWrite };
}

/** The `piapi_upstream_errors_total` reason of a failure, if it counts as one. */
export function upstreamErrorReason(error: GatewayError): UpstreamErrorReason | undefined {
  if (error.status === 429) return '429';
  if (error.code === ErrorCode.UpstreamTimeout || error.code === ErrorCode.UpstreamIdle) return 'timeout';
  if (error.code === ErrorCode.UpstreamUnreachable) return 'connect';
  if (error.status >= 500) return '5xx';
  return undefined;
}
