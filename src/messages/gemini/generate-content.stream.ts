import { STATUS_CODES } from 'node:http';
import { createAssistantMessageEventStream, type Api, type AssistantMessageEventStream, type Context, type Model } from '@mariozechner/pi-ai';
import { request, type Dispatcher } from 'undici';
import { SseDecoder } from '../codex/sse-decoder.js';
import { emptyAssistantMessage } from '../empty-message.js';
import type { TransportOptions } from '../pi-upstream.js';
import { GeminiChunkReader } from './gemini-chunk-reader.js';
import { geminiBody, geminiParams, geminiStreamUrl, type GeminiParams } from './gemini-request.js';
import type { GeminiChunk, GeminiError } from './gemini-wire.js';

/**
 * The `google-generative-ai` API (`:streamGenerateContent?alt=sse`) with pi-ai's own request
 * and content translation but a transport of ours. pi-ai's provider reads the stream through
 * `@google/genai`, which hides what says whether an answer is whole: the SDK makes an error
 * chunk (`data: {"error":{…}}`, how Gemini fails an answer midway) into an empty response, and
 * pi-ai never tells a chunk with `finishReason` from a stream that simply ended, so both came
 * out as complete answers (see GeminiChunkReader). Neither the SDK nor pi-ai offers a hook on
 * the response body, and Node 20's undici reports no body chunks on its diagnostics channels.
 * Request, headers and events follow pi-ai 0.73's provider and @google/genai 1.52; like them,
 * nothing is retried.
 */
export function streamGeminiGenerateContent(model: Model<Api>, context: Context, options: TransportOptions = {}): AssistantMessageEventStream {
  // pi-ai's provider throws this one synchronously.
  if (!options.apiKey) throw new Error(`No API key for provider: ${model.provider}`);
  const stream = createAssistantMessageEventStream();
  void run(model, context, options, options.apiKey, stream);
  return stream;
}

/** What @google/genai sends as its user agent and API client, so the upstream sees the client pi-ai's provider was. */
const CLIENT_LABEL = `google-genai-sdk/1.52.0 gl-node/${process.version}`;

async function run(model: Model<Api>, context: Context, options: TransportOptions, apiKey: string, stream: AssistantMessageEventStream): Promise<void> {
  const output = emptyAssistantMessage(model, 'stop');
  try {
    let params = geminiParams(model, context, options);
    const patched = await options.onPayload?.(params, model);
    if (patched !== undefined) params = patched as GeminiParams;
    const url = geminiStreamUrl(model.baseUrl, params.model);
    const response = await send(model, url, requestHeaders(model, options, apiKey), JSON.stringify(geminiBody(params)), options);
    stream.push({ type: 'start', partial: output });
    const reader = new GeminiChunkReader(output, stream, model);
    for await (const chunk of geminiChunks(response.body)) reader.push(chunk);
    reader.end();
    if (options.signal?.aborted) throw new Error('Request was aborted');
    stream.push({ type: 'done', reason: output.stopReason as 'stop' | 'length' | 'toolUse', message: output });
    stream.end();
  } catch (error) {
    output.stopReason = options.signal?.aborted ? 'aborted' : 'error';
    output.errorMessage = error instanceof Error ? error.message : String(error);
    stream.push({ type: 'error', reason: output.stopReason, error: output });
    stream.end();
  }
}

function requestHeaders(model: Model<Api>, options: TransportOptions, apiKey: string): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': CLIENT_LABEL, 'x-goog-api-client': CLIENT_LABEL, 'content-type': 'application/json' };
  for (const [name, value] of Object.entries({ ...model.headers, ...options.headers })) headers[name.toLowerCase()] = value;
  headers['x-goog-api-key'] ??= apiKey;
  return headers;
}

async function send(model: Model<Api>, url: string, headers: Record<string, string>, body: string, options: TransportOptions): Promise<Dispatcher.ResponseData> {
  if (options.signal?.aborted) throw new Error('Request was aborted');
  const response = await request(url, { method: 'POST', headers, body, signal: options.signal });
  await options.onResponse?.({ status: response.statusCode, headers: flatHeaders(response.headers) }, model);
  if (response.statusCode >= 200 && response.statusCode < 300) return response;
  const text = await response.body.text().catch(() => '');
  options.onErrorBody?.(text);
  throw new Error(errorMessage(response.statusCode, response.headers['content-type'], text));
}

/** @google/genai's message for an HTTP error: Google's JSON error body, or one made around a body that is not JSON. */
function errorMessage(status: number, contentType: string | string[] | undefined, text: string): string {
  if (String(contentType).includes('application/json')) {
    try {
      return JSON.stringify(JSON.parse(text));
    } catch {
      // Not the JSON it said: wrapped below like any other body.
    }
  }
  return JSON.stringify({ error: { message: text, code: status, status: STATUS_CODES[status] ?? '' } });
}

/** The `data:` payloads of the stream, parsed. */
async function* geminiChunks(body: Dispatcher.ResponseData['body']): AsyncGenerator<GeminiChunk | GeminiError> {
  const decoder = new SseDecoder();
  for await (const bytes of body as AsyncIterable<Buffer>) {
    for (const sse of decoder.push(bytes)) {
      if (sse.data === '' || sse.data === '[DONE]') continue;
      let chunk: unknown;
      try {
        chunk = JSON.parse(sse.data);
      } catch (cause) {
        throw new Error(`Invalid Gemini SSE JSON: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
      }
      if (chunk !== null && typeof chunk === 'object' && !Array.isArray(chunk)) yield chunk;
    }
  }
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}
