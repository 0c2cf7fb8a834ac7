import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { loadConfigFile } from '../config/config-loader.js';
import { ConfigInvalidError, DEFAULT_SHUTDOWN_DELAY_MS, startGateway } from '../main.js';

/** `--config`, else PIAPI_CONFIG, else ~/.piapi/config.yaml when present, else ./config.yaml. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PIAPI_CONFIG) return env.PIAPI_CONFIG;
  const personal = join(homedir(), '.piapi', 'config.yaml');
  return existsSync(personal) ? personal : 'config.yaml';
}

const program = new Command();
program.name('piapi').description('LLM gateway for engineering teams').showHelpAfterError();

program
  .command('start')
  .description('start the gateway')
  .option('-c, --config <file>', 'config file (env PIAPI_CONFIG)')
  .option('-l, --listen <host:port>', 'listen address, e.g. :9200 or 127.0.0.1:9200 (env PIAPI_LISTEN)')
  .action(async (opts: { config?: string; listen?: string }) => {
    const configPath = opts.config ?? defaultConfigPath();
    try {
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
    } catch (err) {
      fail(err);
    }
  });

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

function fail(err: unknown): never {
  if (err instanceof ConfigInvalidError) {
    process.stderr.write(`piapi: ${err.message}\n`);
  } else {
    process.stderr.write(`piapi: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
}

await program.parseAsync(process.argv);
