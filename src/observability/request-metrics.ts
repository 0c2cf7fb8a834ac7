import type { FastifyInstance } from 'fastify';
import type { ConfigStore } from '../config/config-store.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { serviceTypeLabel, statusClass } from './metric-names.js';
import { QUIET_PATHS, logPath } from './request-log.js';

/**
 * Request count, latency and in-flight gauge for every request. Counted when the response
 * closes (finished or aborted), so an aborted stream is counted exactly once too.
 */
export function registerRequestMetrics(fastify: FastifyInstance, metrics: GatewayMetrics, store: ConfigStore): void {
  fastify.addHook('onRequest', (req, reply, done) => {
    const path = logPath(req.url);
    if (!QUIET_PATHS.has(path)) {
      const label = serviceTypeLabel(path, metrics.serviceTypes(store.current));
      const started = process.hrtime.bigint();
      metrics.requestStarted(label);
      reply.raw.once('close', () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.requestFinished(label, reply.raw.writableFinished ? statusClass(reply.statusCode) : 'aborted', seconds);
      });
    }
    done();
  });
}
