import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { CliError } from './cli-error.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { readLocalConfig, soleUserKey, type LocalConfig } from './local-config.js';
import { defaultConfigPath, piapiHome } from './piapi-home.js';

export interface TargetOptions {
  /** A running gateway (remote or local) to use as is. */
  url?: string;
  config?: string;
  key?: string;
}

export interface GatewayTarget {
  /** `http://host:port` of the gateway, no trailing slash. */
  url: string;
  /** The piapi user key for it, when one was given or found. */
  key: string | undefined;
  /** Stops the gateway started here, if any. */
  close(): Promise<void>;
  /** The config read here, when there was one (with `--url`, perhaps not the gateway's own). */
  config?: GatewayConfig;
}

/** main.ts's DEFAULT_LISTEN, repeated: importing main.ts loads Nest, a second `piapi env` does not need. */
export const DEFAULT_LISTEN = ':9200';

/**
 * The gateway a client tool should talk to: `--url`, else the local config's listen address.
 * With `start`, a local gateway that does not answer `/healthz` is started in this process.
 */
export async function resolveGatewayTarget(
  options: TargetOptions,
  { start, needKey }: { start: boolean; needKey: boolean },
): Promise<GatewayTarget> {
  const configPath = options.config ?? defaultConfigPath();
  // With --url the config only supplies a key, and only when there is one.
  const local = options.url && !options.config ? await readLocalConfig(configPath).catch(() => undefined) : await readLocalConfig(configPath);
  const key = options.key ?? (process.env.PIAPI_API_KEY || undefined) ?? (local && soleUserKey(local));
  if (needKey && !key) {
    throw new CliError('no piapi user key: pass --key, set PIAPI_API_KEY, or give the config a single user with an apiKey');
  }
  const config = local?.config;
  if (options.url) return { url: checkUrl(options.url), key, close: () => Promise.resolve(), ...(config ? { config } : {}) };

  const url = localGatewayUrl((local as LocalConfig).config.listen ?? DEFAULT_LISTEN);
  if (!start || (await answersHealth(url))) return { url, key, close: () => Promise.resolve(), ...(config ? { config } : {}) };
  return { key, ...(await startInProcess(configPath, new URL(url).host)), ...(config ? { config } : {}) };
}

/** Where a gateway with this listen address is reached from this machine. */
export function localGatewayUrl(listen: string): string {
  const url = new URL(`http://${listen.startsWith(':') ? `127.0.0.1${listen}` : listen}`);
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  if (url.hostname === '[::]') url.hostname = '[::1]';
  return url.origin;
}

function checkUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`--url ${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--url must be an http(s) URL, not ${JSON.stringify(value)}`);
  return value.replace(/\/+$/, '');
}

async function answersHealth(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1500) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** A gateway in this process for as long as the tool runs; logs go to ~/.piapi/logs, not the terminal. */
async function startInProcess(configPath: string, hostPort: string): Promise<Omit<GatewayTarget, 'key'>> {
  const { startGateway } = await import('../main.js');
  const logDir = join(piapiHome(), 'logs');
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const logFile = join(logDir, 'gateway.log');
  // Synchronous: one developer's traffic, and nothing is lost when the session ends.
  const logDestination = pino.destination({ dest: logFile, sync: true });
  let gateway;
  try {
    gateway = await startGateway({ configPath, listen: hostPort, logDestination });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    // Something that is not a gateway holds the port: any free one will do for this session.
    gateway = await startGateway({ configPath, listen: `${new URL(`http://${hostPort}`).hostname}:0`, logDestination });
  }
  const running = gateway;
  process.stderr.write(`piapi: started a gateway on ${running.url} for this session (logs: ${logFile})\n`);
  return {
    url: running.url,
    close: () => running.close(),
  };
}
