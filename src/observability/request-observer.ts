import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ConfigStore } from '../config/config-store.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { serviceTypeLabel, statusClass } from './metric-names.js';
import { writeJsonLine } from './json-line.js';
import { QUIET_PATHS, logPath, requestLine, requestLineMembers } from './request-log.js';

export interface RequestObserverDeps {
  logger: Logger;
  metrics: GatewayMetrics;
  store: ConfigStore;
  /** Counts open requests for the shutdown drain. */
  lifecycle: { requestOpened(): void; requestClosed(): void };
}

/**
 * Everything the gateway notes about every request, from one hook and one `close` listener
 * (the hot path pays for each): the X-Request-Id header, the in-flight count, request metrics
 * and the log line. `close` fires for finished and aborted responses alike, so an aborted
 * stream is counted and logged exactly once too.
 */
export function observeRequests(fastify: FastifyInstance, { logger, metrics, store, lifecycle }: RequestObserverDeps): void {
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    lifecycle.requestOpened();
    const path = logPath(req.url);
    const quiet = QUIET_PATHS.has(path);
    const label = quiet ? '' : serviceTypeLabel(path, metrics.serviceTypes(store.current));
    const started = performance.now();
    if (!quiet) metrics.requestStarted(label);
    // `on`, not `once`: 'close' fires once anyway, and `once` wraps and later removes the listener.
    reply.raw.on('close', () => {
      lifecycle.requestClosed();
      if (quiet) return;
      const seconds = (performance.now() - started) / 1e3;
      const finished = reply.raw.writableFinished;
      const status = reply.statusCode;
      metrics.requestFinished(label, finished ? statusClass(status) : 'aborted', seconds);
      const members = requestLineMembers(requestLine(req, reply, path, seconds, finished));
      writeJsonLine(logger, status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info', members, 'request completed');
    });
    done();
  });
}
