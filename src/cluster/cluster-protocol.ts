import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';

/**
 * Messages between the primary and the workers of `piapi start --workers <n>` (over the cluster
 * IPC channel). prom-client's own messages, which collect each worker's metrics, travel beside them.
 */
export type ClusterMessage =
  | { type: 'piapi:listening'; url: string }
  | { type: 'piapi:metrics-request'; id: number }
  | { type: 'piapi:metrics-response'; id: number; text?: string; error?: string }
  | { type: 'piapi:shutdown' };

export function isClusterMessage(value: unknown): value is ClusterMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' && (value as { type: string }).type.startsWith('piapi:');
}

/** Whether this process is a worker of a multi-worker gateway. */
export function isGatewayWorker(): boolean {
  return cluster.isWorker;
}

const METRICS_TIMEOUT_MS = 5000;
let nextMetricsRequest = 0;
let metricsListenerReady = false;

/**
 * In a worker: the metrics of every worker, summed by the primary (prom-client's
 * AggregatorRegistry; each metric says how it adds up). A scrape reaches any one worker, and must
 * see them all.
 */
export function clusterMetrics(): Promise<string> {
  answerMetricsRequests();
  const id = nextMetricsRequest++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('the primary did not answer with the cluster metrics in time'));
    }, METRICS_TIMEOUT_MS);
    const onMessage = (message: unknown): void => {
      if (!isClusterMessage(message) || message.type !== 'piapi:metrics-response' || message.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (message.text !== undefined) resolve(message.text);
      else reject(new Error(message.error ?? 'cluster metrics failed'));
    };
    process.on('message', onMessage);
    process.send?.({ type: 'piapi:metrics-request', id } satisfies ClusterMessage);
  });
}

/** In a worker: lets prom-client answer the primary's requests for this worker's metrics. */
export function answerMetricsRequests(): void {
  if (metricsListenerReady || !cluster.isWorker) return;
  metricsListenerReady = true;
  // Constructing one registers prom-client's worker-side listener; the registry itself is unused.
  new AggregatorRegistry();
}
