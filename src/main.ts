import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyInstance } from 'fastify';
import { Logger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module.js';
import { loadConfigFile } from './config/config-loader.js';
import { ConfigStore } from './config/config-store.js';
import { ErrorCode } from './errors/error-codes.js';
import { errorFormatForPath, renderError } from './errors/error-body.js';
import { GatewayError } from './errors/gateway-error.js';
import { GatewayExceptionFilter } from './errors/gateway-exception.filter.js';
import { LifecycleService } from './health/lifecycle.service.js';
import { requestIdFor } from './observability/request-id.js';

export const DEFAULT_LISTEN = ':9200';

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

  const adapter = new FastifyAdapter({
    genReqId: requestIdFor,
    routerOptions: { maxParamLength: 1000 },
    return503OnClosing: true,
    // Long-lived SSE streams: no server-side request timeout; idle upstreams are cut by the proxy.
    requestTimeout: 0,
    keepAliveTimeout: 65_000,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot({ store, boot: { configPath: options.configPath, listen }, logDestination: options.logDestination }),
    adapter,
    { bufferLogs: true, bodyParser: false },
  );
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(new GatewayExceptionFilter());
  configureFastify(app.getHttpAdapter().getInstance());
  app.enableShutdownHooks();

  await app.listen(port, host);
  app.get(LifecycleService).markReady();
  const address = app.getHttpServer().address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    app,
    url: `http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${address.port}`,
    store,
    close: () => app.close(),
  };
}

function configureFastify(fastify: FastifyInstance): void {
  // Bodies stay unread streams: the proxy forwards them untouched, the JSON routes read them
  // themselves with the config's current size limit.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    done();
  });
  // Errors raised by Fastify itself, before a route runs (malformed URL, bad headers, ...).
  fastify.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    const code = status === 413 ? ErrorCode.PayloadTooLarge : status < 500 ? ErrorCode.BadRequest : ErrorCode.Internal;
    const message = status < 500 ? err.message : 'Internal error';
    const rendered = renderError(new GatewayError(code, message, status), errorFormatForPath(req.url), String(req.id));
    void reply.code(rendered.status).header('content-type', 'application/json').send(rendered.body);
  });
}
