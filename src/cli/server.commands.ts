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
    .action(
      action(async (opts: { config?: string; listen?: string }) => {
        const { DEFAULT_SHUTDOWN_DELAY_MS, startGateway } = await import('../main.js');
        const configPath = opts.config ?? defaultConfigPath();
        const gateway = await startGateway({ configPath, listen: opts.listen ?? process.env.PIAPI_LISTEN });
        process.stderr.write(`piapi listening on ${gateway.url} (config ${configPath})\n`);
        const delay = Number(process.env.PIAPI_SHUTDOWN_DELAY_MS ?? DEFAULT_SHUTDOWN_DELAY_MS);
        const stop = () => {
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
