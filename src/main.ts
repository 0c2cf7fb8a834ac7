import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module.js';
import { loadConfigFile } from './config/config-loader.js';
import { ConfigStore } from './config/config-store.js';
import { ErrorCode } from './errors/error-codes.js';
import { errorFormatForPath, renderError } from './errors/error-body.js';
import { GatewayError } from './errors/gateway-error.js';
import { GatewayExceptionFilter } from './errors/gateway-exception.filter.js';
import { drain } from './health/graceful-shutdown.js';
import { LifecycleService } from './health/lifecycle.service.js';
import { createRootLogger } from './observability/logging.module.js';
import { requestIdFor } from './observability/request-id.js';
import { observeRequests } from './observability/request-observer.js';
import { MetricsService } from './observability/metrics.module.js';

export const DEFAULT_LISTEN = ':9200';
/** How long a draining replica keeps serving before it stops accepting (endpoint propagation). */
export const DEFAULT_SHUTDOWN_DELAY_MS = 5000;

export interface GatewayOptions {
  configPath: string;
  /** `host:port` or `:port`; defaults to the config's `listen`, then `:9200`. */
  listen?: string;
  /** Where JSON logs go (stdout by default); tests capture them here. */
  logDestination?: DestinationStream;
}

export interface RunningGateway {
  app: NestFastifyApplication;
  /** `http://host:port` the gateway listens on. */
  url: string;
  store: ConfigStore;
  close(): Promise<void>;
  /** SIGTERM behaviour: readiness 503, keep serving `delayMs`, stop accepting, drain, close. */
  shutdown(delayMs?: number): Promise<void>;
}

export class ConfigInvalidError extends Error {
  constructor(
    readonly path: string,
    readonly errors: string[],
  ) {
    super(`invalid config ${path}:\n  ${errors.join('\n  ')}`);
  }
}

export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(listen);
  if (!match) throw new Error(`invalid listen address ${JSON.stringify(listen)}: use host:port or :port`);
  const port = Number(match[3]);
  if (port > 65535) throw new Error(`invalid port in ${JSON.stringify(listen)}`);
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const loaded = await loadConfigFile(options.configPath);
  if (!loaded.ok) throw new ConfigInvalidError(options.configPath, loaded.errors);
  const store = new ConfigStore(options.configPath, loaded.config);
  const listen = options.listen ?? loaded.config.listen ?? DEFAULT_LISTEN;
  const { host, port } = parseListen(listen);

  const logger = createRootLogger(loaded.config.logging.level, options.logDestination);
  const adapter = new FastifyAdapter({
    genReqId: requestIdFor,
    routerOptions: { maxParamLength: 1000 },
    return503OnClosing: true,
    // Bounds only how long a client takes to *send* its request (Node stops counting once the body
    // is in), so a stalled upload cannot hold a connection and its upstream forever; long SSE
    // responses are unaffected, and idle upstreams are cut by the proxy.
    requestTimeout: 300_000,
    keepAliveTimeout: 65_000,
    // Errors Fastify raises before routing (malformed URL) get the same JSON shape as ours.
    frameworkErrors: (error: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      const rendered = renderError(
        new GatewayError(ErrorCode.BadRequest, error.message, 400),
        errorFormatForPath(req.url),
        String(req.id),
      );
      void reply.code(rendered.status).header('content-type', 'application/json').send(rendered.body);
    },
    clientErrorHandler: answerClientError,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot({ store, boot: { configPath: options.configPath, listen }, logger }),
    adapter,
    { bufferLogs: true, bodyParser: false },
  );
  app.useLogger(app.get(NestPinoLogger));
  app.useGlobalFilters(new GatewayExceptionFilter());
  const lifecycle = app.get(LifecycleService);
  const fastify = app.getHttpAdapter().getInstance();
  configureBodies(fastify);
  observeRequests(fastify, { logger, metrics: app.get(MetricsService), store, lifecycle });

  try {
    await app.listen(port, host);
  } catch (err) {
    // E.g. the port is taken: release what started with the app (the config watcher).
    await app.close();
    throw err;
  }
  lifecycle.markReady();
  const address = app.getHttpServer().address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    app,
    url: `http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${address.port}`,
    store,
    close: () => app.close(),
    shutdown: async (delayMs = DEFAULT_SHUTDOWN_DELAY_MS) => {
      const grace = store.current.shutdownGraceMs;
      await drain({
        server: app.getHttpServer(),
        delayMs: Math.min(delayMs, grace),
        graceMs: Math.max(0, grace - delayMs),
        inflight: () => lifecycle.inflight,
        markDraining: () => lifecycle.markDraining(),
        log: (message, fields) => logger.info(fields ?? {}, message),
      });
      await app.close();
      logger.flush();
    },
  };
}

function configureBodies(fastify: FastifyInstance): void {
  // Bodies stay unread streams: the proxy forwards them untouched, the JSON routes read them
  // themselves with the config's current size limit.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
}

/** Requests Node's HTTP parser rejects never reach a route: answer them in JSON too. */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : timedOut ? 408 : 400;
  const body = JSON.stringify({
    error: { message: timedOut ? 'Request not received in time' : 'Malformed HTTP request', type: 'invalid_request_error', code: 'bad_request' },
    request_id: randomUUID(),
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
