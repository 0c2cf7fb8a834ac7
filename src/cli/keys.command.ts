import type { Command } from 'commander';
import { action, CliError } from './cli-error.js';
import { resolveGatewayTarget, type TargetOptions } from './gateway-target.js';
import { formatKeyPoolStatus, keyPoolStatus } from './key-pool-status.js';
import { ExpositionError, parseExposition } from './prometheus-text.js';
import { newUserKey, userKeyHash } from './user-key.js';

const METRICS_TIMEOUT_MS = 10_000;

export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('user key tools, and the state of key pools');
  keys
    .command('new')
    .description('print a fresh random user key and the sha256 hash to put in the config (apiKeyHash)')
    .action(() => {
      const key = newUserKey();
      process.stdout.write(`key:  ${key}\nhash: ${userKeyHash(key)}\n`);
    });
  keys
    .command('status')
    .description("show a gateway's key pools from its /metrics: which keys cool down and until when, available keys per pool, attempts by key")
    .option('--url <url>', "the gateway, e.g. a team gateway or one replica (default: the config's listen address)")
    .option('-c, --config <file>', 'config file, for its listen address (env PIAPI_CONFIG; default ~/.piapi/config.yaml)')
    .option('--json', 'print the status as JSON')
    .action(
      action(async (options: Pick<TargetOptions, 'url' | 'config'> & { json?: boolean }) => {
        const { url } = await resolveGatewayTarget(options, { start: false, needKey: false });
        const status = keyPoolStatus(await readMetrics(url));
        if (status.providers.length === 0) throw new CliError(`the gateway at ${url} has no key pools (its /metrics shows no piapi_provider_key_available)`);
        process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatKeyPoolStatus(status));
      }),
    );
}

/** The samples of `<url>/metrics`, which needs no key: no admin API for this. */
async function readMetrics(url: string) {
  let res: Response;
  try {
    res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(METRICS_TIMEOUT_MS) });
  } catch (err) {
    throw new CliError(`cannot reach the gateway at ${url}: ${reason(err)}`);
  }
  const text = await res.text();
  if (!res.ok) throw new CliError(`${url}/metrics answered ${res.status}`);
  try {
    return parseExposition(text);
  } catch (err) {
    if (err instanceof ExpositionError) throw new CliError(`${url}/metrics is not Prometheus text: ${err.message}`);
    throw err;
  }
}

/** fetch says "fetch failed"; its cause says why (ECONNREFUSED, ENOTFOUND, a timeout). */
function reason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${METRICS_TIMEOUT_MS / 1000} s`;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
