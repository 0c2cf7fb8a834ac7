import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { parseConfig } from '../config/config-loader.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { interpolateString } from '../config/env-interpolation.js';
import '../providers/oauth-keys.config.js';
import { CliError } from './cli-error.js';

export interface LocalConfig {
  path: string;
  text: string;
  config: GatewayConfig;
}

/** Reads and validates a config file; a problem is a CliError listing every error. */
export async function readLocalConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<LocalConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`no config at ${path}: run "piapi ui" to create one, or pass --config`);
    throw new CliError(`cannot read ${path}: ${code ?? String(err)}`);
  }
  const result = parseConfig(text, env);
  if (!result.ok) throw new CliError(`invalid config ${path}:\n  ${result.errors.join('\n  ')}`);
  return { path, text, config: result.config };
}

/**
 * The user key `piapi code`/`codex`/`env` may use without being told: that of the config's only
 * user when it is written in the config (`apiKey`, not `apiKeyHash`).
 */
export function soleUserKey(local: LocalConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const users = (parse(local.text) as { users?: unknown } | null)?.users;
  if (!Array.isArray(users) || users.length !== 1) return undefined;
  const apiKey = (users[0] as { apiKey?: unknown } | null)?.apiKey;
  if (typeof apiKey !== 'string') return undefined;
  let unset = false;
  const key = interpolateString(apiKey, env, () => (unset = true));
  return unset ? undefined : key;
}

/**
 * The errors of a config file's text as the gateway would see it, except for unset environment
 * variables: the gateway's environment is not this shell's.
 */
export function configErrors(text: string): string[] {
  const anyEnv = new Proxy(process.env, { get: (env, name) => (typeof name === 'string' ? (env[name] ?? 'set-in-the-gateway-environment') : undefined) });
  const result = parseConfig(text, anyEnv);
  return result.ok ? [] : result.errors;
}
