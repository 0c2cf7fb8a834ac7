import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import type { HttpSettings, Service } from '../config/gateway-config.js';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import { addKeyHeaders, clientResponseHeaders, upstreamRequestHeaders } from './hop-by-hop-headers.js';
import { upstreamPath } from './upstream-url.js';

export interface ForwardRequest {
  req: IncomingMessage;
  /** The client's response: when it closes early, the upstream request is cancelled with it. */
  res: ServerResponse;
  requestId: string;
  service: Service;
  rest: string;
  query: string;
  providerKey: string;
  /** Extra headers that belong to the provider key (e.g. an OAuth account id). */
  keyHeaders?: Readonly<Record<string, string>>;
  http: HttpSettings;
  /** Sent instead of the client's request body (a key pool's kept body, replayable-body.ts); null: none. */
  body?: Readable | Buffer | null;
  /** Bytes of `body` received from the client, and whether the upload passed maxBodyBytes. */
  bodyMeter?: { readonly bytes: number; readonly tooLarge: boolean };
  /** Called once if the client goes away before the response has been written whole. */
  onClientGone?: () => void;
  /** Called once with the first response body byte. */
  onFirstByte?: () => void;
  /** Called when the upstream fails after the response started. */
  onStreamError?: (failure: GatewayError) => void;
}

export interface ForwardResponse {
  status: number;
  /** For the client, as `writeHead`'s flat `[name, value, …]` list. */
  headers: string[];
  /** The upstream's content type ('' when it sent none). */
  contentType: string;
  /** The upstream's headers as undici parsed them (for cooldown hints). */
  upstreamHeaders: Readonly<Record<string, string | string[] | undefined>>;
  /** Drops the response unsent and cancels the upstream request; the client's response is left alone. */
  discard(): void;
  /**
   * Reads at most `limit` bytes of the body as text (an error body, for its hints), waiting at
   * most `timeoutMs`; the response can then only be discarded.
   */
  readText(limit: number, timeoutMs: number): Promise<string>;
  /**
   * Streams the body into the client's response, chunk by chunk with backpressure; an SSE body
   * ends with an `error` event if the upstream fails mid-way, any other is cut. `tap` sees each
   * chunk as it passes (usage metering; it must not keep them), `onEnd` runs once the upstream
   * body has ended whole.
   */
  pipeTo(hooks?: { tap?: (chunk: Buffer) => void; onEnd?: () => void }): void;
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

  forward(f: ForwardRequest): Promise<ForwardResponse> {
    const declared = f.req.headers['content-length'];
    if (declared !== undefined && Number(declared) > f.http.maxBodyBytes) return Promise.reject(tooLarge(f.http.maxBodyBytes));
    const headers = upstreamRequestHeaders(f.req.headers, f.service, f.providerKey, f.requestId);
    if (f.keyHeaders) addKeyHeaders(headers, f.keyHeaders);
    return new Promise((resolve, reject) => {
      const exchange = new Exchange(f, resolve, reject);
      this.dispatcher(f.http.connectTimeoutMs).dispatch(
        {
          origin: f.service.origin,
          path: upstreamPath(f.service, f.rest, f.query, f.providerKey),
          method: f.req.method ?? 'GET',
          headers,
          body: f.body !== undefined ? f.body : exchange.requestBody(declared),
          headersTimeout: f.http.headersTimeoutMs,
          bodyTimeout: f.http.idleTimeoutMs,
        },
        exchange,
      );
    });
  }

  async close(): Promise<void> {
    await this.agent?.close();
  }
}

/**
 * One proxied exchange as an undici dispatch handler: the upstream's body chunks are written to
 * the client's socket as they are parsed, with no stream object of our own or undici's in
 * between, and undici pauses reading while the client's socket is full.
 */
class Exchange implements Dispatcher.DispatchHandler, ForwardResponse {
  status = 0;
  headers: string[] = [];
  contentType = '';
  upstreamHeaders: Readonly<Record<string, string | string[] | undefined>> = {};
  private discarded = false;
  private reading: { limit: number; chunks: Buffer[]; bytes: number; done: () => void } | undefined;
  private controller: Dispatcher.DispatchController | undefined;
  private counter: ByteLimit | undefined;
  private declaredBytes = 0;
  private started = false;
  private piped = false;
  private ended = false;
  private failure: GatewayError | undefined;
  private clientGone = false;
  private isSse = false;
  /** Chunks parsed before {@link pipeTo} is called (the same socket read as the headers). */
  private early: Buffer[] = [];
  private sent = 0;
  private tap: ((chunk: Buffer) => void) | undefined;
  private onEnd: (() => void) | undefined;

  constructor(
    private readonly f: ForwardRequest,
    private readonly resolve: (response: ForwardResponse) => void,
    private readonly reject: (failure: GatewayError) => void,
  ) {
    // `on`, not `once` (no wrapper per request): a response closes once.
    f.res.on('close', () => {
      if (f.res.writableFinished || this.discarded) return;
      this.clientGone = true;
      f.onClientGone?.();
      this.counter?.destroy();
      this.controller?.abort(new undiciErrors.RequestAbortedError());
    });
  }

  /**
   * A declared length is enforced by Node's parser (the body ends after that many bytes) and was
   * checked against the limit, so the request itself is the body; a chunked one is counted.
   */
  requestBody(declared: string | undefined): IncomingMessage | ByteLimit | null {
    const { req, http } = this.f;
    if (declared !== undefined) {
      this.declaredBytes = Number(declared);
      return this.declaredBytes > 0 ? req : null;
    }
    if (req.headers['transfer-encoding'] === undefined) return null;
    const counter = new ByteLimit(http.maxBodyBytes);
    // pipe(), not pipeline(): on overflow the client's request must stay open for the 413.
    req.pipe(counter);
    counter.once('error', () => {
      req.unpipe(counter);
      req.resume();
    });
    this.counter = counter;
    return counter;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new undiciErrors.RequestAbortedError());
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return;
    this.started = true;
    const contentType = String(headers['content-type'] ?? '');
    this.isSse = contentType.startsWith('text/event-stream');
    this.status = statusCode;
    this.headers = clientResponseHeaders(headers, this.f.requestId);
    this.contentType = contentType;
    this.upstreamHeaders = headers;
    this.resolve(this);
  }

  bytesIn(): number {
    return this.f.bodyMeter?.bytes ?? this.counter?.bytes ?? this.declaredBytes;
  }

  discard(): void {
    this.discarded = true;
    this.early = [];
    this.reading?.done();
    this.controller?.abort(new undiciErrors.RequestAbortedError());
  }

  readText(limit: number, timeoutMs: number): Promise<string> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => reading.done(), timeoutMs);
      const reading = {
        limit,
        chunks: [] as Buffer[],
        bytes: 0,
        done: () => {
          clearTimeout(timer);
          if (this.reading !== reading) return;
          this.reading = undefined;
          resolve(Buffer.concat(reading.chunks).toString('utf8'));
        },
      };
      this.reading = reading;
      const early = this.early;
      this.early = [];
      for (const chunk of early) this.keep(chunk);
      if (this.ended || this.failure) reading.done();
    });
  }

  /** A chunk of a body read by {@link readText}. */
  private keep(chunk: Buffer): void {
    const reading = this.reading;
    if (!reading) return;
    const room = reading.limit - reading.bytes;
    if (room > 0) {
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      reading.chunks.push(part);
      reading.bytes += part.length;
    }
    if (reading.bytes >= reading.limit) reading.done();
  }

  bytesOut(): number {
    return this.sent;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.discarded) return;
    if (this.reading) {
      this.keep(chunk);
      return;
    }
    if (!this.piped) {
      this.early.push(chunk);
      return;
    }
    if (!this.write(chunk)) this.pause();
  }

  onResponseEnd(): void {
    this.ended = true;
    this.reading?.done();
    if (this.piped) this.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const overflow = this.counter?.overflow === true || this.f.bodyMeter?.tooLarge === true;
    const failure = upstreamFailure(err, overflow ? this.f.http.maxBodyBytes : undefined);
    this.counter?.destroy();
    if (this.discarded) return;
    this.reading?.done();
    if (!this.started) {
      this.reject(failure);
      return;
    }
    this.failure = failure;
    if (this.piped) this.fail(failure);
  }

  pipeTo(hooks: { tap?: (chunk: Buffer) => void; onEnd?: () => void } = {}): void {
    this.tap = hooks.tap;
    this.onEnd = hooks.onEnd;
    this.piped = true;
    const early = this.early;
    this.early = [];
    let full = false;
    for (const chunk of early) full = !this.write(chunk) || full;
    if (this.failure) this.fail(this.failure);
    else if (this.ended) this.finish();
    else if (full) this.pause();
  }

  /** Stops reading the upstream until the client's socket has drained. */
  private pause(): void {
    this.controller?.pause();
    this.f.res.once('drain', () => this.controller?.resume());
  }

  private write(chunk: Buffer): boolean {
    if (this.sent === 0) this.f.onFirstByte?.();
    this.sent += chunk.length;
    this.tap?.(chunk);
    return this.f.res.write(chunk);
  }

  private finish(): void {
    this.f.res.end();
    this.onEnd?.();
  }

  private fail(failure: GatewayError): void {
    const res = this.f.res;
    if (res.destroyed || this.clientGone) return;
    this.f.onStreamError?.(failure);
    // The status line is gone: an SSE client gets an error event and a clean end, any other
    // client a cut connection (never a silently short body that looks complete).
    if (this.isSse) res.end(sseError(failure, this.f.requestId));
    else res.destroy(failure);
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
