import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { loadConfigFile } from '../config/config-loader.js';
import { action } from './cli-error.js';
import { defaultConfigPath } from './piapi-home.js';

/** `piapi start` and `piapi config validate`. */
export function registerServerCommands(program: Command): void {
  program
    .command('start')
    .description('start the gateway')
    .option('-c, --config <file>', 'config file (env PIAPI_CONFIG; default ~/.piapi/config.yaml when present, else ./config.yaml)')
    .option('-l, --listen <host:port>', 'listen address, e.g. :9200 or 127.0.0.1:9200 (env PIAPI_LISTEN)')
    .option('-w, --workers <n>', 'gateway processes sharing the port, or "auto" for one per CPU (env PIAPI_WORKERS; default 1)')
    .action(
      action(async (opts: { config?: string; listen?: string; workers?: string }) => {
        const configPath = opts.config ?? defaultConfigPath();
        const { default: cluster } = await import('node:cluster');
        if (cluster.isPrimary) {
          const { parseWorkerCount, runWorkerPool } = await import('../cluster/worker-pool.js');
          const workers = parseWorkerCount(opts.workers ?? process.env.PIAPI_WORKERS, availableParallelism());
          if (workers > 1) {
            process.exitCode = await runWorkerPool({
              workers,
              announce: (url) => process.stderr.write(`piapi listening on ${url} (config ${configPath}, ${workers} workers)\n`),
              log: (message) => process.stderr.write(`${message}\n`),
            });
            return;
          }
        }
        const { DEFAULT_SHUTDOWN_DELAY_MS, startGateway } = await import('../main.js');
        const gateway = await startGateway({ configPath, listen: opts.listen ?? process.env.PIAPI_LISTEN });
        if (cluster.isWorker) process.send?.({ type: 'piapi:listening', url: gateway.url });
        else process.stderr.write(`piapi listening on ${gateway.url} (config ${configPath})\n`);
        const delay = Number(process.env.PIAPI_SHUTDOWN_DELAY_MS ?? DEFAULT_SHUTDOWN_DELAY_MS);
        let stopping = false;
        const stop = () => {
          if (stopping) return;
          stopping = true;
          process.removeListener('SIGTERM', stop);
          process.removeListener('SIGINT', stop);
          gateway.shutdown(delay).then(
            () => process.exit(0),
            (err: unknown) => {
              process.stderr.write(`piapi: shutdown failed: ${String(err)}\n`);
              process.exit(1);
            },
          );
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
        if (cluster.isWorker) {
          // The primary says when to stop; without a primary there is no one to hand connections out.
          process.on('message', (message: { type?: string }) => {
            if (message.type === 'piapi:shutdown') stop();
          });
          process.once('disconnect', stop);
        }
      }),
    );

  const config = program.command('config').description('config file tools');
  config
    .command('validate <file>')
    .description('check a config file; prints every error with its path and exits non-zero if any')
    .action(async (file: string) => {
      const result = await loadConfigFile(file);
      if (result.ok) {
        process.stdout.write(`${file}: OK (${result.config.providers.size} providers, ${result.config.users.length} users)\n`);
        return;
      }
      process.stderr.write(`${file}: ${result.errors.length} error(s)\n${result.errors.map((e) => `  ${e}\n`).join('')}`);
      process.exitCode = 1;
    });
}
