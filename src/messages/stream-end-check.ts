import type { IncomingHttpHeaders } from 'node:http';
import { Agent, DecoratorHandler, Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { SseDecoder } from './codex/sse-decoder.js';

/**
 * Answers whose body ends cleanly before the stream's last word are errors, for the two APIs
 * pi-ai reads through an SDK that cannot tell: chat completions and Vertex AI.
 *
 * pi-ai reads chat completions through the `openai` SDK, which ends its iteration when the body
 * ends, `data: [DONE]` or not, and pi-ai starts every message as `stop`: a proxy or server that
 * closes the chunked body in the middle of an answer (a timeout, a restart) gave the client a
 * short answer as if it were whole. Nothing of pi-ai sees the body, and the SDK client it makes
 * takes no `fetch`, but the SDK calls Node's fetch, which dispatches through undici's global
 * dispatcher: an interceptor composed onto it watches the answers of requests that carry
 * {@link STREAM_END_CHECK_HEADER} (which it takes off before sending), and ends a body that
 * ended before the end of the answer with an in-stream error event of chat completions'
 * own shape (`data: {"error":{…}}`), which the SDK throws and pi-ai reports as an error event.
 * (Failing the body instead, with the handler's error callback once the response is complete,
 * left Node 20's fetch body unread and hanging.)
 *
 * The answer has ended when the stream said `data: [DONE]` or a choice came with a
 * `finish_reason`: OpenAI sends both, and every compatible server at least one of them.
 *
 * Vertex AI (pi-ai's google-vertex, through `@google/genai`) has Gemini's wire: an answer ends
 * with a candidate's `finishReason`, and a failure midway is a `data: {"error":{…}}` event, which
 * `@google/genai` reads as an empty response. A body that ended without a finishReason, or that
 * carried an error event, is ended with a raw JSON error chunk, which `@google/genai` throws as
 * an ApiError (or, when fetch hands it over joined to the bytes before it, as an "Incomplete
 * JSON segment at the end"): an error either way.
 */

/** The request header that asks for the check (its value: the {@link StreamKind}); piapi's own, never sent upstream. */
export const STREAM_END_CHECK_HEADER = 'x-piapi-stream-end-check';

export type StreamKind = 'chat-completions' | 'gemini';

/** The message of the error that ends a short body; pi-ai's error event carries it. */
export const ENDED_EARLY_MESSAGE = 'upstream chat-completions stream ended before its finish_reason and data: [DONE]';

// The blank lines first end whatever line or event the body was cut inside.
const ENDED_EARLY_EVENT = Buffer.from(
  `\n\ndata: ${JSON.stringify({ error: { message: ENDED_EARLY_MESSAGE, type: 'server_error', param: null, code: 'stream_ended_early' } })}\n\n`,
);

/** The message of the error that ends a Vertex body without a finishReason. */
export const GEMINI_ENDED_EARLY_MESSAGE = 'upstream Gemini stream ended before a candidate with finishReason';

/** How one API's SSE answer ends, fails, and is made to fail when it was cut short. */
interface StreamRules {
  /** Whether an event's data ends the answer. */
  ends(data: string): boolean;
  /** Whether an event's data is an in-stream error, which fails the answer whatever came before. */
  fails?(data: string): boolean;
  /** What goes into the body before its end when it did not end or failed (the failing event's data, if one). */
  closing(failure: string | undefined): Buffer;
}

const FINISH_REASON = /"finish_reason"\s*:\s*"/;
const GEMINI_FINISH_REASON = /"finishReason"\s*:\s*"/;
const GEMINI_ERROR = /^\s*\{\s*"error"\s*:/;

const RULES: Readonly<Record<StreamKind, StreamRules>> = {
  'chat-completions': {
    ends: (data) => data.trim() === '[DONE]' || FINISH_REASON.test(data),
    closing: () => ENDED_EARLY_EVENT,
  },
  gemini: {
    ends: (data) => GEMINI_FINISH_REASON.test(data),
    fails: (data) => GEMINI_ERROR.test(data),
    closing: geminiClosing,
  },
};

/** Follows an SSE answer and tells what to add to its body before the end when it was cut short. */
export class EndTracker {
  private readonly decoder = new SseDecoder({ maxLineBytes: 64 * 1024 * 1024 });
  private ended = false;
  private failure: string | undefined;

  constructor(private readonly rules: StreamRules) {}

  push(chunk: Buffer): void {
    // Past the end only an error can still change the verdict, and only where the API has one.
    if (this.failure !== undefined || (this.ended && !this.rules.fails)) return;
    for (const { data } of this.decoder.push(chunk)) {
      if (this.rules.fails?.(data)) {
        this.failure = data;
        return;
      }
      if (!this.ended && this.rules.ends(data)) this.ended = true;
    }
  }

  /** Whether the answer ended as it should. */
  get finished(): boolean {
    return this.ended && this.failure === undefined;
  }

  /** The bytes that make the SDK fail the answer, or undefined when it ended as it should. */
  closing(): Buffer | undefined {
    return this.finished ? undefined : this.rules.closing(this.failure);
  }
}

export function endTracker(kind: StreamKind): EndTracker {
  return new EndTracker(RULES[kind]);
}

interface GeminiError {
  code?: unknown;
  message?: unknown;
  status?: unknown;
}

/** A raw JSON error chunk, which `@google/genai` throws: the stream's own error, or a 502. */
function geminiClosing(failure: string | undefined): Buffer {
  const error = failure === undefined ? {} : errorOf(failure);
  const code = typeof error.code === 'number' && error.code >= 400 && error.code < 600 ? error.code : 502;
  const message = typeof error.message === 'string' && error.message !== '' ? error.message : GEMINI_ENDED_EARLY_MESSAGE;
  const status = typeof error.status === 'string' ? error.status : 'UNAVAILABLE';
  return Buffer.from(JSON.stringify({ error: { code, message, status } }));
}

function errorOf(data: string): GeminiError {
  try {
    const error = (JSON.parse(data) as { error?: unknown }).error;
    return typeof error === 'object' && error !== null ? error : {};
  } catch {
    return {};
  }
}

/**
 * Composes the check onto undici's global dispatcher, once per process. The global dispatcher
 * is the one Node's fetch uses (Node's bundled undici and npm undici share its slot). Which one
 * holds the slot depends on what ran first: npm undici puts its Agent there when it loads, but
 * a fetch made before that (the CLI's health check of a running gateway) leaves Node's bundled
 * Agent there, whose handler calls (undici 6's) the interceptor's handler does not speak. The
 * check is composed onto an npm undici dispatcher, the one found or a new Agent.
 */
export function installStreamEndCheck(): void {
  const global = globalThis as { [INSTALLED]?: boolean };
  if (global[INSTALLED]) return;
  global[INSTALLED] = true;
  const current = getGlobalDispatcher();
  setGlobalDispatcher((current instanceof Dispatcher ? current : new Agent()).compose(streamEndCheck));
}

const INSTALLED = Symbol.for('piapi.streamEndCheck');

/** The interceptor: only requests marked with {@link STREAM_END_CHECK_HEADER} are watched. */
export const streamEndCheck: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
  const marked = unmarked(opts.headers);
  if (marked === undefined) return dispatch(opts, handler);
  return dispatch({ ...opts, headers: marked.headers }, new EndCheckHandler(handler, marked.kind));
};

/**
 * The request's headers without the marker, asking for an uncompressed answer (the check reads
 * the bytes before fetch decompresses them), and the kind of stream the marker named; undefined
 * when the request is not marked.
 */
export function unmarked(headers: Dispatcher.DispatchOptions['headers']): { headers: Record<string, string | string[]>; kind: StreamKind } | undefined {
  if (headers === null || headers === undefined) return undefined;
  // Most requests are not marked, and fetch gives lower-case names: no copy for those.
  if (isRecord(headers) && !(STREAM_END_CHECK_HEADER in headers)) return undefined;
  const entries: Array<[string, string | string[]]> = [];
  if (Array.isArray(headers)) {
    // Flat [name, value, name, value…] (what undici's own callers pass).
    for (let i = 0; i + 1 < headers.length; i += 2) entries.push([String(headers[i]), headers[i + 1]]);
  } else if (isRecord(headers)) {
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) entries.push([name, value]);
    }
  } else {
    for (const [name, value] of headers as Iterable<[string, string | string[]]>) entries.push([name, value]);
  }
  let kind: StreamKind | undefined;
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (lower === STREAM_END_CHECK_HEADER) kind = String(value) === 'gemini' ? 'gemini' : 'chat-completions';
    else if (lower !== 'accept-encoding') out[name] = value;
  }
  if (kind === undefined) return undefined;
  out['accept-encoding'] = 'identity';
  return { headers: out, kind };
}

function isRecord(headers: object): headers is Record<string, string | string[] | undefined> {
  return typeof (headers as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function';
}

/** DecoratorHandler's methods, which its type declaration leaves out. */
interface ResponseCallbacks {
  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void;
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void;
  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void;
  onResponseError(controller: Dispatcher.DispatchController, error: Error): void;
}

// DecoratorHandler adapts fetch's handler (the legacy callbacks in Node 20's undici) to these.
const Decorator = DecoratorHandler as unknown as new (handler: Dispatcher.DispatchHandler) => ResponseCallbacks;

class EndCheckHandler extends Decorator {
  /** Set for a successful event stream in plain bytes, the only answers that are checked. */
  private tracker: EndTracker | undefined;

  constructor(
    handler: Dispatcher.DispatchHandler,
    private readonly kind: StreamKind,
  ) {
    super(handler);
  }

  override onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    const type = String(headers['content-type'] ?? '');
    const encoding = String(headers['content-encoding'] ?? 'identity').toLowerCase();
    if (statusCode >= 200 && statusCode < 300 && type.includes('text/event-stream') && encoding === 'identity') {
      this.tracker = endTracker(this.kind);
    }
    super.onResponseStart(controller, statusCode, headers, statusMessage);
  }

  override onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    try {
      this.tracker?.push(chunk);
    } catch {
      // An SSE line past the decoder's bound: no longer checked, the SDK will fail it if it must.
      this.tracker = undefined;
    }
    super.onResponseData(controller, chunk);
  }

  override onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    const closing = this.tracker?.closing();
    if (closing) super.onResponseData(controller, closing);
    super.onResponseEnd(controller, trailers);
  }
}
