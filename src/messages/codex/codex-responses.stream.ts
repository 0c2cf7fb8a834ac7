import { STATUS_CODES } from 'node:http';
import os from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import {
  createAssistantMessageEventStream,
  type AssistantMessageEventStream,
  clampThinkingLevel,
  type Api,
  type Context,
  type Model,
  type SimpleStreamOptions,
  type ThinkingLevel,
  type Tool,
} from '@mariozechner/pi-ai';
import type { TransportOptions } from '../pi-upstream.js';
import { request, type Dispatcher } from 'undici';
import { emptyAssistantMessage } from '../empty-message.js';
import { convertResponsesMessages, convertResponsesTools, processResponsesStream, type ResponsesEvent } from './pi-ai-responses.js';
import { SkipMemo, skimResponseEvent } from './response-skim.js';
import { SerializedPartCache, encodeBody, type SerializedPart } from '../serialized-parts.js';
import { SseDecoder } from './sse-decoder.js';
import type { ReasoningUsage } from '../reasoning-usage.js';

/**
 * The `openai-codex-responses` API (the ChatGPT backend behind Codex) over SSE, with pi-ai's own
 * request and event translation but a transport of ours. pi-ai's provider does the same job; its
 * transport is what the `/v1/messages` profile showed on top (bench/RESULTS.md): its SSE parser
 * rescans the whole pending buffer for "\n\n" on every chunk, quadratic in the size of an event,
 * and Responses events echo the request's instructions and tools, so they are tens of kilobytes;
 * around that sit WHATWG fetch and web streams and a TextDecoder. Here: undici's `request`, a
 * linear SSE decoder over Buffers, no JSON parse of `response.in_progress` (pi-ai reads
 * nothing from it), and of the other echoes no UTF-8 decode and only the fields pi-ai reads. Request body, headers, retries and event handling follow pi-ai 0.73's
 * provider, except that only retryable failures (429, 5xx, network) are retried: pi-ai also
 * retried a 400 three times, seven seconds in all.
 */
export function streamCodexResponses(model: Model<Api>, context: Context, options: TransportOptions = {}): AssistantMessageEventStream {
  const stream = createAssistantMessageEventStream();
  void run(model, context, options, stream);
  return stream;
}

const DEFAULT_BASE_URL = 'https://chatgpt.com/backend-api';
const JWT_CLAIM_PATH = 'https://api.openai.com/auth';
const MAX_RETRIES = 3;
const BASE_DELAY_MS = 1000;
/** Tool calls of these providers keep their ids when replayed to Codex (pi-ai's list). */
const CODEX_TOOL_CALL_PROVIDERS: ReadonlySet<string> = new Set(['openai', 'openai-codex', 'opencode']);
const RESPONSE_STATUSES: ReadonlySet<string> = new Set(['completed', 'incomplete', 'failed', 'cancelled', 'queued', 'in_progress']);
/** Nothing is read from these, and they repeat the whole response object: never parsed. */
const UNREAD_EVENTS: ReadonlySet<string> = new Set(['response.in_progress']);
/**
 * These repeat the whole response object too (the request's instructions and tools, the output),
 * but only ASCII fields are read from them (id, status, usage, service tier): decoded as latin1
 * (see SseDecoder), which spares a UTF-8 decode of tens of kilobytes per answer. Error and
 * failure events, whose messages are read, are decoded as UTF-8.
 */
const ASCII_READ_EVENTS: ReadonlySet<string> = new Set(['response.created', 'response.completed', 'response.done', 'response.incomplete']);
/**
 * What pi-ai's processor reads from those events' response object (and a little more): the
 * rest is stepped over unbuilt (see skimResponseEvent).
 */
const READ_RESPONSE_FIELDS: ReadonlySet<string> = new Set(['id', 'status', 'usage', 'service_tier', 'error', 'incomplete_details', 'model']);
/** The echoed tools of the last responses, stepped over with one comparison (see SkipMemo). */
const ECHO_MEMO = new SkipMemo();
const USER_AGENT = `pi (${os.platform()} ${os.release()}; ${os.arch()})`;

interface CodexBody extends Record<string, unknown> {
  model: string;
}

async function run(model: Model<Api>, context: Context, options: TransportOptions, stream: AssistantMessageEventStream): Promise<void> {
  const output = emptyAssistantMessage(model, 'stop');
  try {
    const apiKey = options.apiKey;
    if (!apiKey) throw new Error(`No API key for provider: ${model.provider}`);
    const accountId = extractAccountId(apiKey);
    const parts = {
      instructions: INSTRUCTIONS.get(context.systemPrompt || 'You are a helpful assistant.'),
      tools: context.tools && context.tools.length > 0 ? TOOLS.get(context.tools) : undefined,
    };
    let body: unknown = buildRequestBody(model, context, options, parts);
    const patched = await options.onPayload?.(body, model);
    if (patched !== undefined) body = patched;
    const headers = requestHeaders(model, options, accountId, apiKey);
    // Encoded once here (undici would measure a string body's UTF-8 length, then encode it),
    // with the tools and instructions from their cached encoding while the hook left them alone.
    const encoded = isRecord(body) ? encodeBody(body, parts) : Buffer.from(JSON.stringify(body));
    const response = await send(model, codexUrl(model.baseUrl), headers, encoded, options);
    stream.push({ type: 'start', partial: output });
    let reasoning: number | undefined;
    await processResponsesStream(
      codexEvents(response.body, (usage) => (reasoning = usage?.output_tokens_details?.reasoning_tokens)),
      output,
      stream,
      model,
    );
    if (typeof reasoning === 'number') (output.usage as ReasoningUsage).reasoning = reasoning;
    if (options.signal?.aborted) throw new Error('Request was aborted');
    stream.push({ type: 'done', reason: output.stopReason as 'stop' | 'length' | 'toolUse', message: output });
    stream.end();
  } catch (error) {
    for (const block of output.content) delete (block as { partialJson?: string }).partialJson;
    output.stopReason = options.signal?.aborted ? 'aborted' : 'error';
    output.errorMessage = error instanceof Error ? error.message : String(error);
    stream.push({ type: 'error', reason: output.stopReason, error: output });
    stream.end();
  }
}

/** Claude Code sends the same tools and system prompt every turn: see ../serialized-parts.ts. */
const TOOLS = new SerializedPartCache<Tool[], unknown[]>(isDeepStrictEqual, (tools) => convertResponsesTools(tools, { strict: null }));
const INSTRUCTIONS = new SerializedPartCache<string, string>((a, b) => a === b, (text) => text);

interface BodyParts {
  instructions: SerializedPart<string>;
  tools: SerializedPart<unknown[]> | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function buildRequestBody(model: Model<Api>, context: Context, options: SimpleStreamOptions, parts: BodyParts): CodexBody {
  const body: CodexBody = {
    model: model.id,
    store: false,
    stream: true,
    instructions: parts.instructions.value,
    input: convertResponsesMessages(model, context, CODEX_TOOL_CALL_PROVIDERS, { includeSystemPrompt: false }),
    text: { verbosity: 'low' },
    include: ['reasoning.encrypted_content'],
    prompt_cache_key: options.sessionId,
    tool_choice: 'auto',
    parallel_tool_calls: true,
  };
  if (options.temperature !== undefined) body.temperature = options.temperature;
  if (parts.tools) body.tools = parts.tools.value;
  const effort = reasoningEffort(model, options.reasoning);
  if (effort !== undefined) body.reasoning = { effort, summary: 'auto' };
  return body;
}

function reasoningEffort(model: Model<Api>, level: ThinkingLevel | undefined): string | undefined {
  if (!level) return undefined;
  const clamped = clampThinkingLevel(model, level);
  if (clamped === 'off') return undefined;
  const effort = model.thinkingLevelMap?.[clamped] ?? clamped;
  return effort === null ? undefined : effort;
}

function requestHeaders(model: Model<Api>, options: SimpleStreamOptions, accountId: string, apiKey: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(model.headers ?? {})) headers[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  headers.authorization = `Bearer ${apiKey}`;
  headers['chatgpt-account-id'] = accountId;
  headers.originator = 'pi';
  headers['user-agent'] = USER_AGENT;
  headers['openai-beta'] = 'responses=experimental';
  headers.accept = 'text/event-stream';
  headers['content-type'] = 'application/json';
  if (options.sessionId) {
    headers.session_id = options.sessionId;
    headers['x-client-request-id'] = options.sessionId;
  }
  return headers;
}

/** POSTs the body; 429, 5xx and network failures are tried again after 1, 2 and 4 s. */
async function send(
  model: Model<Api>,
  url: string,
  headers: Record<string, string>,
  body: Buffer,
  options: TransportOptions,
): Promise<Dispatcher.ResponseData> {
  for (let attempt = 0; ; attempt++) {
    if (options.signal?.aborted) throw new Error('Request was aborted');
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, { method: 'POST', headers, body, signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted) throw new Error('Request was aborted', { cause: error });
      if (attempt < (options.maxRetries ?? MAX_RETRIES)) {
        await sleep(BASE_DELAY_MS * 2 ** attempt, options.signal);
        continue;
      }
      throw error;
    }
    await options.onResponse?.({ status: response.statusCode, headers: flatHeaders(response.headers) }, model);
    if (response.statusCode >= 200 && response.statusCode < 300) return response;
    const text = await response.body.text().catch(() => '');
    options.onErrorBody?.(text);
    if (attempt < (options.maxRetries ?? MAX_RETRIES) && isRetryable(response.statusCode, text)) {
      await sleep(BASE_DELAY_MS * 2 ** attempt, options.signal);
      continue;
    }
    throw new Error(errorMessage(response.statusCode, text));
  }
}

function isRetryable(status: number, text: string): boolean {
  if (status === 429 || status === 500 || status === 502 || status === 503 || status === 504) return true;
  return /rate.?limit|overloaded|service.?unavailable|upstream.?connect|connection.?refused/i.test(text);
}

/** pi-ai's wording, so errors read the same whichever transport carried them. */
function errorMessage(status: number, raw: string): string {
  const message = raw || STATUS_CODES[status] || 'Request failed';
  try {
    const err = (JSON.parse(raw) as { error?: Record<string, unknown> } | null)?.error;
    if (err) {
      const code = [err.code, err.type].find((v): v is string => typeof v === 'string' && v !== '') ?? '';
      let friendly: string | undefined;
      if (/usage_limit_reached|usage_not_included|rate_limit_exceeded/i.test(code) || status === 429) {
        const plan = typeof err.plan_type === 'string' ? ` (${err.plan_type.toLowerCase()} plan)` : '';
        const mins = typeof err.resets_at === 'number' ? Math.max(0, Math.round((err.resets_at * 1000 - Date.now()) / 60000)) : undefined;
        const when = mins !== undefined ? ` Try again in ~${mins} min.` : '';
        friendly = `You have hit your ChatGPT usage limit${plan}.${when}`.trim();
      }
      return friendly || (typeof err.message === 'string' && err.message) || message;
    }
  } catch {
    // Not JSON: the text itself is the message.
  }
  return message;
}

/** The body's SSE events as pi-ai's processor reads them, with Codex's terminal and error events mapped. */
interface FinalUsage {
  output_tokens_details?: { reasoning_tokens?: number };
}

/** `onUsage` gets the final event's usage (pi-ai keeps no reasoning count of it). */
async function* codexEvents(body: Dispatcher.ResponseData['body'], onUsage: (usage: FinalUsage | undefined) => void): AsyncGenerator<ResponsesEvent> {
  const decoder = new SseDecoder({ skip: UNREAD_EVENTS, latin1: ASCII_READ_EVENTS });
  // Iterated by hand: leaving a `for await` early destroys the body, and with it a connection
  // that only had the end of the body left to send.
  const chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      for (const sse of decoder.push(next.value)) {
        if (sse.data === '' || sse.data === '[DONE]') continue;
        let event: ResponsesEvent;
        try {
          const skimmed = sse.event !== undefined && ASCII_READ_EVENTS.has(sse.event) ? skimResponseEvent(sse.data, READ_RESPONSE_FIELDS, ECHO_MEMO) : undefined;
          event = (skimmed ?? JSON.parse(sse.data)) as ResponsesEvent;
        } catch (cause) {
          throw new Error(`Invalid Codex SSE JSON: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
        }
        const type = typeof event.type === 'string' ? event.type : undefined;
        if (!type) continue;
        if (type === 'error') {
          const code = typeof event.code === 'string' ? event.code : '';
          const message = typeof event.message === 'string' ? event.message : '';
          throw new Error(`Codex error: ${message || code || JSON.stringify(event)}`);
        }
        if (type === 'response.failed') {
          const error = (event.response as { error?: { message?: string } } | undefined)?.error;
          throw new Error(error?.message || 'Codex response failed');
        }
        if (type === 'response.done' || type === 'response.completed' || type === 'response.incomplete') {
          const response = event.response as Record<string, unknown> | undefined;
          const status = typeof response?.status === 'string' && RESPONSE_STATUSES.has(response.status) ? response.status : undefined;
          finished = true;
          onUsage(response?.usage as FinalUsage | undefined);
          yield { ...event, type: 'response.completed', response: response ? { ...response, status } : response };
          return;
        }
        yield event;
      }
    }
    // pi-ai's provider would end such a cut answer as a complete one.
    throw new Error('Codex stream ended before its final event (response.completed)');
  } finally {
    // After the final event only the end of the body is left: read it in the background, so the
    // connection goes back to the pool. Anything else (an error, a cancel) closes the connection.
    if (finished) void drain(chunks);
    else await chunks.return?.();
  }
}

async function drain(chunks: AsyncIterator<Buffer>): Promise<void> {
  try {
    while (!(await chunks.next()).done);
  } catch {
    // The upstream went away after its final event: nothing was lost.
  }
}

function codexUrl(baseUrl: string | undefined): string {
  const raw = baseUrl && baseUrl.trim().length > 0 ? baseUrl : DEFAULT_BASE_URL;
  const normalized = raw.replace(/\/+$/, '');
  if (normalized.endsWith('/codex/responses')) return normalized;
  if (normalized.endsWith('/codex')) return `${normalized}/responses`;
  return `${normalized}/codex/responses`;
}

function extractAccountId(token: string): string {
  try {
    const parts = token.split('.');
    if (parts.length !== 3) throw new Error('Invalid token');
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, { chatgpt_account_id?: unknown } | undefined>;
    const accountId = payload[JWT_CLAIM_PATH]?.chatgpt_account_id;
    if (typeof accountId !== 'string' || !accountId) throw new Error('No account ID in token');
    return accountId;
  } catch (cause) {
    throw new Error('Failed to extract accountId from token', { cause });
  }
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new Error('Request was aborted'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('Request was aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
