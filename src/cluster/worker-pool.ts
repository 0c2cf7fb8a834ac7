import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { isClusterMessage, type ClusterMessage } from './cluster-protocol.js';

export interface WorkerPoolOptions {
  workers: number;
  /** Written once, when every worker listens (the single-process gateway prints the same line). */
  announce: (url: string) => void;
  /** Operator messages (stderr). */
  log: (message: string) => void;
}

/** A worker that dies this soon after starting counts as a crash loop. */
const QUICK_DEATH_MS = 10_000;
const MAX_QUICK_DEATHS = 5;
const RESPAWN_DELAY_MS = 1000;

/**
 * The primary of `piapi start --workers <n>`: forks n workers (each a whole gateway on the same
 * listening socket; the primary hands out connections round-robin), replaces a worker that dies,
 * sums the workers' metrics for whichever worker a scrape reaches, and on SIGTERM/SIGINT asks every
 * worker to shut down as a single gateway does (readiness 503, delay, stop accepting, drain).
 * Resolves with the exit code once every worker has exited.
 */
export function runWorkerPool({ workers, announce, log }: WorkerPoolOptions): Promise<number> {
  const aggregator = new AggregatorRegistry();
  const listening = new Set<number>();
  const quickDeaths: number[] = [];
  let announced = false;
  let stopping = false;
  let failed = false;

  return new Promise((resolve) => {
    const fork = (): void => {
      const worker = cluster.fork();
      const started = Date.now();
      worker.on('message', (message: unknown) => onMessage(worker, message));
      worker.once('exit', (code, signal) => onExit(worker, started, code, signal));
    };

    const onMessage = (worker: Worker, message: unknown): void => {
      if (!isClusterMessage(message)) return;
      if (message.type === 'piapi:listening') {
        listening.add(worker.id);
        if (!announced && listening.size >= workers) {
          announced = true;
          announce(message.url);
        }
      } else if (message.type === 'piapi:metrics-request') {
        aggregator.clusterMetrics().then(
          (text) => send(worker, { type: 'piapi:metrics-response', id: message.id, text }),
          (err: unknown) => send(worker, { type: 'piapi:metrics-response', id: message.id, error: err instanceof Error ? err.message : String(err) }),
        );
      }
    };

    const onExit = (worker: Worker, started: number, code: number | null, signal: string | null): void => {
      const wasListening = listening.delete(worker.id);
      if (code !== 0) failed = true;
      if (!stopping) {
        if (!announced && !wasListening) {
          // A worker that could not start (bad config, port taken): so will the others.
          log(`piapi: worker ${worker.process.pid} failed to start (${signal ?? `exit ${code}`}); stopping`);
          stop();
        } else {
          const now = Date.now();
          if (now - started < QUICK_DEATH_MS) quickDeaths.push(now);
          while (quickDeaths.length > 0 && now - quickDeaths[0] > 60_000) quickDeaths.shift();
          if (quickDeaths.length >= MAX_QUICK_DEATHS) {
            log(`piapi: workers keep dying (${quickDeaths.length} within a minute); stopping`);
            stop();
          } else {
            log(`piapi: worker ${worker.process.pid} died (${signal ?? `exit ${code}`}); starting another`);
            failed = false;
            setTimeout(() => {
              if (!stopping) fork();
            }, RESPAWN_DELAY_MS).unref();
          }
        }
      }
      if (Object.keys(cluster.workers ?? {}).length === 0 && stopping) resolve(failed ? 1 : 0);
    };

    const stop = (): void => {
      if (stopping) {
        // A second signal: do not wait for the drain.
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
        return;
      }
      stopping = true;
      const alive = Object.values(cluster.workers ?? {});
      if (alive.length === 0) resolve(failed ? 1 : 0);
      for (const worker of alive) if (worker) send(worker, { type: 'piapi:shutdown' });
    };

    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    for (let i = 0; i < workers; i++) fork();
  });
}

function send(worker: Worker, message: ClusterMessage): void {
  if (worker.isConnected()) worker.send(message);
}

/** `--workers` / PIAPI_WORKERS: a count, or `auto` for one per available CPU. */
export function parseWorkerCount(value: string | undefined, cpus: number): number {
  if (value === undefined || value === '') return 1;
  if (value === 'auto') return Math.max(1, cpus);
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 256) {
    throw new Error(`invalid worker count ${JSON.stringify(value)}: use a number from 1 to 256, or "auto"`);
  }
  return Number(value);
}
