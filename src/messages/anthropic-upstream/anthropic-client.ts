import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { request, type Dispatcher } from 'undici';
import { SerializedPartCache, encodeBody } from '../serialized-parts.js';
import { sanitizeSurrogates } from './pi-ai-anthropic.js';

/**
 * What pi-ai is given as the system prompt when the client has the real one: the text of the
 * system block that the client replaces by the prompt (random, so no prompt is ever taken for it).
 */
export const SYSTEM_PROMPT_MARK = `piapi-system-prompt-${randomUUID()}`;

/** What the client is told about each upstream response head, errors included. */
export type ResponseHook = (response: { status: number; headers: Record<string, string> }) => unknown;

export interface AnthropicClientOptions {
  /** `https://api.anthropic.com` and the like: the client posts `<baseUrl>/v1/messages`. */
  baseUrl: string;
  /** Every request header but content-type (credentials, version, betas, the provider's own). */
  headers: Record<string, string>;
  /**
   * The system prompt, when pi-ai was given {@link SYSTEM_PROMPT_MARK} in its place: the system
   * block with that text gets the prompt, without unpaired surrogates (pi-ai's sanitizeSurrogates).
   */
  systemPrompt?: string;
  /** The SDK's default: 2 retries. */
  maxRetries?: number;
  /** Called with each error response's head: pi-ai calls its `onResponse` for a success only. */
  onErrorResponse?: ResponseHook;
  /** The body of an error response, before it becomes the error's message. */
  onErrorBody?: (text: string) => void;
}

/**
 * What pi-ai passes. Its `timeout` (from `timeoutMs`, which piapi never sets: the guard of
 * pi-upstream.ts times the call out instead) is not supported.
 */
interface RequestOptions {
  signal?: AbortSignal;
  maxRetries?: number;
}

/** The slice of a fetch Response that pi-ai's Anthropic provider reads. */
export interface ResponseLike {
  status: number;
  headers: { entries(): IterableIterator<[string, string]> };
  body: { getReader(): BodyReader };
}

interface BodyReader {
  read(): Promise<{ done: false; value: Buffer } | { done: true; value: undefined }>;
  releaseLock(): void;
}

const DEFAULT_MAX_RETRIES = 2;
const INITIAL_RETRY_DELAY_S = 0.5;
const MAX_RETRY_DELAY_S = 8;

/**
 * The part of the Anthropic SDK's client that pi-ai's Anthropic provider uses when it is handed
 * one (`options.client`): `messages.create(params, { signal, timeout, maxRetries }).asResponse()`.
 * pi-ai builds the request and reads the SSE itself; what the SDK adds around that, per request,
 * was the top of the `/v1/responses` profile (bench/RESULTS.md, item 6): a new client object,
 * its request building and logging, `JSON.stringify` of the ~40 KB body then a TextEncoder pass
 * over it, Node's fetch and the web streams it reads through. Here: undici's `request`, the body
 * encoded once with the tools and system prompt from their cached encoding (serialized-parts.ts),
 * and the response body read as Node Buffers. Retries, their delays and the error messages
 * follow the SDK's (1.12): connection errors, 408, 409, 429 and 5xx are tried again unless
 * `x-should-retry` says otherwise, after `retry-after-ms` / `retry-after` or 0.5 s doubling up
 * to 8 s with a quarter of jitter.
 */
export class AnthropicClient {
  readonly messages = {
    create: (params: Record<string, unknown>, options: RequestOptions = {}) => ({
      asResponse: () => this.send(params, options),
    }),
  };

  constructor(private readonly options: AnthropicClientOptions) {}

  private async send(params: Record<string, unknown>, options: RequestOptions): Promise<ResponseLike> {
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}/v1/messages`;
    const headers = { ...this.options.headers, 'content-type': 'application/json' };
    const body = encodeParams(params, this.options.systemPrompt);
    const maxRetries = options.maxRetries ?? this.options.maxRetries ?? DEFAULT_MAX_RETRIES;
    for (let retriesLeft = maxRetries; ; retriesLeft--) {
      let response: Dispatcher.ResponseData;
      try {
        response = await post(url, headers, body, options);
      } catch (error) {
        if (options.signal?.aborted) throw new Error('Request was aborted.', { cause: error });
        const timedOut = /timed? ?out/i.test(describe(error));
        if (retriesLeft > 0) {
          await sleep(defaultDelayMs(retriesLeft, maxRetries), options.signal);
          continue;
        }
        throw new Error(timedOut ? 'Request timed out.' : 'Connection error.', { cause: error });
      }
      const flat = flatHeaders(response.headers);
      if (response.statusCode >= 200 && response.statusCode < 300) return responseLike(response, flat);
      this.options.onErrorResponse?.({ status: response.statusCode, headers: flat });
      if (retriesLeft > 0 && shouldRetry(response.statusCode, flat)) {
        // Not needed, as in the SDK; read off (undici's dump) so the connection can be reused.
        await response.body.dump().catch(() => undefined);
        await sleep(retryDelayMs(flat, retriesLeft, maxRetries), options.signal);
        continue;
      }
      const text = await response.body.text().catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
      this.options.onErrorBody?.(text);
      throw new Error(errorMessage(response.statusCode, text));
    }
  }
}

/** pi-ai rebuilds the tools and system blocks for every request; equal ones are encoded once. */
const TOOLS = new SerializedPartCache<unknown, unknown>(isDeepStrictEqual, (tools) => tools);

interface SystemKey {
  blocks: unknown[];
  prompt: string | undefined;
}
const SYSTEM = new SerializedPartCache<SystemKey, unknown[]>(
  (a, b) => a.prompt === b.prompt && isDeepStrictEqual(a.blocks, b.blocks),
  ({ blocks, prompt }) => (prompt === undefined ? blocks : withPrompt(blocks, prompt)),
);

function withPrompt(blocks: unknown[], prompt: string): unknown[] {
  const text = sanitizeSurrogates(prompt);
  return blocks.map((block) => ((block as { text?: unknown }).text === SYSTEM_PROMPT_MARK ? { ...(block as object), text } : block));
}

function encodeParams(params: Record<string, unknown>, systemPrompt: string | undefined): Buffer {
  const body: Record<string, unknown> = { ...params, stream: true };
  const tools = Array.isArray(body.tools) && body.tools.length > 0 ? TOOLS.get(body.tools) : undefined;
  const system = Array.isArray(body.system) ? SYSTEM.get({ blocks: body.system as unknown[], prompt: systemPrompt }) : undefined;
  if (tools) body.tools = tools.value;
  if (system) body.system = system.value;
  return encodeBody(body, { tools, system });
}

function post(url: string, headers: Record<string, string>, body: Buffer, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  return request(url, { method: 'POST', headers, body, signal: options.signal });
}

function responseLike(response: Dispatcher.ResponseData, headers: Record<string, string>): ResponseLike {
  return {
    status: response.statusCode,
    headers: { entries: () => Object.entries(headers)[Symbol.iterator]() },
    body: { getReader: () => bodyReader(response.body) },
  };
}

/** A web-stream reader's `read` / `releaseLock` over undici's Node stream, without web streams. */
function bodyReader(body: Dispatcher.ResponseData['body']): BodyReader {
  const chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let done = false;
  return {
    async read() {
      const next = await chunks.next();
      if (next.done) {
        done = true;
        return { done: true, value: undefined };
      }
      return { done: false, value: next.value };
    },
    // pi-ai lets go of the reader once it stops reading: before the end only on a failure, and
    // then the connection must not go back to the pool with the rest of the body on it.
    releaseLock() {
      if (done) return;
      body.on('error', () => undefined);
      body.destroy();
    },
  };
}

/** An error and its cause, for the SDK's test of whether a connection failure was a timeout. */
function describe(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  return `${String(error)} ${cause instanceof Error ? cause.message : ''}`;
}

function shouldRetry(status: number, headers: Record<string, string>): boolean {
  const header = headers['x-should-retry'];
  if (header === 'true') return true;
  if (header === 'false') return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

function retryDelayMs(headers: Record<string, string>, retriesLeft: number, maxRetries: number): number {
  let ms: number | undefined;
  const afterMs = headers['retry-after-ms'];
  if (afterMs) {
    const value = parseFloat(afterMs);
    if (!Number.isNaN(value)) ms = value;
  }
  const after = headers['retry-after'];
  if (after && !ms) {
    const seconds = parseFloat(after);
    ms = Number.isNaN(seconds) ? Date.parse(after) - Date.now() : seconds * 1000;
  }
  if (ms === undefined || !(ms > 0 && ms <= 2 ** 31 - 1)) ms = defaultDelayMs(retriesLeft, maxRetries);
  return ms;
}

function defaultDelayMs(retriesLeft: number, maxRetries: number): number {
  const seconds = Math.min(INITIAL_RETRY_DELAY_S * 2 ** (maxRetries - retriesLeft), MAX_RETRY_DELAY_S);
  return seconds * (1 - Math.random() * 0.25) * 1000;
}

/** The SDK's `APIError` message: `<status> <the JSON error body>` (or its text), as pi-ai passes it on. */
export function errorMessage(status: number, text: string): string {
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const message = (json as { message?: unknown } | undefined)?.message;
  const msg = json ? (message ? (typeof message === 'string' ? message : JSON.stringify(message)) : JSON.stringify(json)) : text;
  return msg ? `${status} ${msg}` : `${status} status code (no body)`;
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new Error('Request was aborted.'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('Request was aborted.'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
