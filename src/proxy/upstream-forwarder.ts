import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { Agent, errors as undiciErrors } from 'undici';
import type { HttpSettings, Service } from '../config/gateway-config.js';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import { addKeyHeaders, clientResponseHeaders, upstreamRequestHeaders } from './hop-by-hop-headers.js';
import { upstreamPath } from './upstream-url.js';

export interface ForwardRequest {
  req: IncomingMessage;
  requestId: string;
  service: Service;
  rest: string;
  query: string;
  providerKey: string;
  /** Extra headers that belong to the provider key (e.g. an OAuth account id). */
  keyHeaders?: Readonly<Record<string, string>>;
  http: HttpSettings;
  /** Aborted when the client goes away: the upstream request is cancelled with it. */
  signal: AbortSignal;
  /** Sees each response body chunk as it passes (usage metering); must not keep them. */
  tap?: (chunk: Buffer) => void;
  /** Called once with the first response body byte. */
  onFirstByte?: () => void;
  /** Called when the upstream fails after the response started. */
  onStreamError?: (failure: GatewayError) => void;
}

export interface ForwardResponse {
  status: number;
  headers: Record<string, string | string[]>;
  /** The upstream body, unparsed (listen, don't read: {@link pipeTo} reads it). */
  body: Readable;
  /**
   * Streams the body into the client's response, chunk by chunk with backpressure; an SSE body
   * ends with an `error` event if the upstream fails mid-way, any other is cut.
   */
  pipeTo(res: ServerResponse): void;
  /** Bytes of request body sent upstream. */
  bytesIn(): number;
  /** Bytes of response body passed to the client so far. */
  bytesOut(): number;
}

/**
 * Forwards a request byte for byte to its upstream over undici keep-alive pools (one per origin),
 * streaming both bodies without buffering or parsing them.
 */
export class UpstreamForwarder {
  private agent: Agent | undefined;
  private agentConnectTimeout = -1;

  private dispatcher(connectTimeoutMs: number): Agent {
    if (!this.agent || this.agentConnectTimeout !== connectTimeoutMs) {
      // A changed timeout gets a new pool; the old one finishes its requests, then closes.
      void this.agent?.close();
      this.agent = new Agent({
        connect: { timeout: connectTimeoutMs },
        // Below common servers' 5 s idle timeout (Node, uvicorn): a request sent on a connection
        // the upstream is closing fails with a reset. A server's Keep-Alive hint still wins.
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 600_000,
        // No per-origin cap: every open stream needs its own connection (HTTP/1.1), and a cap
        // would queue streams behind others for minutes.
      });
      this.agentConnectTimeout = connectTimeoutMs;
    }
    return this.agent;
  }

  async forward(f: ForwardRequest): Promise<ForwardResponse> {
    const declared = f.req.headers['content-length'];
    if (declared !== undefined && Number(declared) > f.http.maxBodyBytes) throw tooLarge(f.http.maxBodyBytes);
    const hasBody = declared !== undefined ? Number(declared) > 0 : f.req.headers['transfer-encoding'] !== undefined;

    const counter = hasBody ? new ByteLimit(f.http.maxBodyBytes) : undefined;
    if (counter) {
      // pipe(), not pipeline(): on overflow the client's request must stay open for the 413.
      f.req.pipe(counter);
      counter.once('error', () => {
        f.req.unpipe(counter);
        f.req.resume();
      });
    }

    const headers = upstreamRequestHeaders(f.req.headers, f.service, f.providerKey, f.requestId);
    if (f.keyHeaders) addKeyHeaders(headers, f.keyHeaders);

    let response;
    try {
      response = await this.dispatcher(f.http.connectTimeoutMs).request({
        origin: f.service.origin,
        path: upstreamPath(f.service, f.rest, f.query, f.providerKey),
        method: (f.req.method ?? 'GET'),
        headers,
        body: counter ?? null,
        signal: f.signal,
        headersTimeout: f.http.headersTimeoutMs,
        bodyTimeout: f.http.idleTimeoutMs,
      });
    } catch (err) {
      counter?.destroy();
      throw upstreamFailure(err, counter?.overflow ? f.http.maxBodyBytes : undefined);
    }

    const isSse = String(response.headers['content-type'] ?? '').startsWith('text/event-stream');
    const upstreamBody = response.body;
    let bytesOut = 0;
    const { tap, onFirstByte } = f;
    // Straight from undici's body to the socket: no intermediate stream, no pipe machinery.
    const pipeTo = (res: ServerResponse): void => {
      upstreamBody.on('data', (chunk: Buffer) => {
        if (bytesOut === 0) onFirstByte?.();
        bytesOut += chunk.length;
        tap?.(chunk);
        if (!res.write(chunk)) upstreamBody.pause();
      });
      res.on('drain', () => upstreamBody.resume());
      upstreamBody.once('end', () => res.end());
      upstreamBody.once('error', (err) => {
        if (res.destroyed) return;
        const failure = upstreamFailure(err);
        f.onStreamError?.(failure);
        // The status line is gone: an SSE client gets an error event and a clean end, any other
        // client a cut connection (never a silently short body that looks complete).
        if (isSse) res.end(sseError(failure, f.requestId));
        else res.destroy(failure);
      });
      // The client went away: cancel the upstream request with it.
      res.once('close', () => {
        if (!upstreamBody.readableEnded) upstreamBody.destroy();
      });
    };
    return {
      status: response.statusCode,
      headers: clientResponseHeaders(response.headers, f.requestId) as Record<string, string | string[]>,
      body: upstreamBody,
      pipeTo,
      bytesIn: () => counter?.bytes ?? 0,
      bytesOut: () => bytesOut,
    };
  }

  async close(): Promise<void> {
    await this.agent?.close();
  }
}

/** Counts request body bytes and fails the upload once it passes the limit. */
class ByteLimit extends Transform {
  bytes = 0;
  overflow = false;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      this.overflow = true;
      done(tooLarge(this.limit));
      return;
    }
    done(null, chunk);
  }
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError(ErrorCode.PayloadTooLarge, `Request body exceeds the limit of ${limit} bytes`);
}

/** Maps undici/socket failures to gateway errors with messages that name no secret. */
export function upstreamFailure(err: unknown, overflowLimit?: number): GatewayError {
  if (overflowLimit !== undefined) return tooLarge(overflowLimit);
  if (err instanceof GatewayError) return err;
  if (err instanceof undiciErrors.HeadersTimeoutError) {
    return new GatewayError(ErrorCode.UpstreamTimeout, 'Upstream did not send response headers in time');
  }
  if (err instanceof undiciErrors.BodyTimeoutError) {
    return new GatewayError(ErrorCode.UpstreamIdle, 'Upstream stream was idle for too long');
  }
  if (err instanceof undiciErrors.ConnectTimeoutError) {
    return new GatewayError(ErrorCode.UpstreamUnreachable, 'Upstream connection timed out');
  }
  if (err instanceof undiciErrors.RequestAbortedError || (err as Error | undefined)?.name === 'AbortError') {
    return new GatewayError(ErrorCode.BadRequest, 'Client closed the request');
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH') {
    return new GatewayError(ErrorCode.UpstreamUnreachable, `Upstream unreachable (${code})`);
  }
  return new GatewayError(ErrorCode.UpstreamError, 'Upstream connection failed');
}

/** An SSE error frame both Anthropic and OpenAI SDKs recognise as an error event. */
export function sseError(error: GatewayError, requestId: string): string {
  const type = error.code === ErrorCode.UpstreamIdle ? 'timeout_error' : 'api_error';
  const data = JSON.stringify({ type: 'error', error: { type, message: error.message }, request_id: requestId });
  return `\n\nevent: error\ndata: ${data}\n\n`;
}
