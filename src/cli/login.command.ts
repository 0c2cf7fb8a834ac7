import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { confirm, isCancel } from '@clack/prompts';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import type { OAuthCredentials } from '@mariozechner/pi-ai/oauth';
import { loadConfigFile } from '../config/config-loader.js';
import { DEFAULT_REDIS } from '../config/gateway-config.js';
import { writeFileAtomic } from '../providers/atomic-write.js';
import { writeCredentialsFile } from '../providers/credentials-file.js';
import { credentialsRedisKey } from '../providers/redis-credential-store.js';
import { OAUTH_PROVIDER_IDS, oauthProvider, unknownOAuthProviderMessage, type OAuthProviderId } from '../providers/oauth-providers.js';
import { action, CliError } from './cli-error.js';
import { addProviderKey } from './config-edit.js';
import { LineInput } from './line-input.js';
import { configErrors } from './local-config.js';
import { runOAuthLogin, type LoginIO } from './oauth-login.js';
import { defaultConfigPath, defaultCredentialsPath } from './piapi-home.js';
import { providerEntry, templateForOAuth } from './provider-templates.js';

interface LoginCommandOptions {
  out?: string;
  /** A path, or false for --no-config. */
  config?: string | false;
  providerName?: string;
  keyName?: string;
  yes?: boolean;
  enterprise?: string;
  timeout: string;
  /** A URL, or true for the config's `state.redis.url`. */
  redis?: string | true;
  redisKeyPrefix?: string;
}

/** Where `--redis` stores a login. */
interface RedisTarget {
  url: string;
  keyPrefix: string;
}

export function registerLoginCommand(program: Command): void {
  program
    .command('login')
    .description('log in to a subscription with OAuth, save the credentials and offer to add them to the config')
    .argument('<provider>', OAUTH_PROVIDER_IDS.join(' | '))
    .option('--out <file>', 'credentials file to write, mode 0600 (default ~/.piapi/credentials/<provider>.json)')
    .option('-c, --config <file>', 'config to add the OAuth-backed key to (default ~/.piapi/config.yaml when present)')
    .option('--no-config', 'only save the credentials; leave every config alone')
    .option('--provider-name <name>', 'piapi provider to add the key to (default: chatgpt, claude or copilot)')
    .option('--key-name <name>', 'name of the key in the provider\'s apiKeys (default: the OAuth provider id)')
    .option('-y, --yes', 'add the key to the config without asking')
    .option('--enterprise <domain>', 'GitHub Enterprise domain (github-copilot; default github.com)')
    .option('--timeout <seconds>', 'give up after this long without a completed login', '600')
    .option('--redis [url]', "store the credentials in Redis, where every replica reads them (default: the config's state.redis.url); no file unless --out")
    .option('--redis-key-prefix <prefix>', `key prefix in Redis (default: the config's state.redis.keyPrefix, else "${DEFAULT_REDIS.keyPrefix}")`)
    .action(action(login));
}

async function login(providerId: string, options: LoginCommandOptions): Promise<void> {
  const provider = oauthProvider(providerId);
  if (!provider) throw new CliError(unknownOAuthProviderMessage(providerId));
  const oauth = providerId as OAuthProviderId;
  const timeoutMs = Number(options.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new CliError(`--timeout must be a number of seconds, not ${JSON.stringify(options.timeout)}`);
  const redis = options.redis === undefined ? undefined : await redisTarget(options);
  // Before the browser: a login that cannot be saved would be wasted.
  if (redis) await withRedis(redis, (client) => client.ping());
  // With --redis a file is written only when asked for.
  const out = redis && !options.out ? undefined : resolve(options.out ?? defaultCredentialsPath(oauth));
  const providerName = options.providerName ?? templateForOAuth(oauth).providerName;
  const keyName = options.keyName ?? oauth;

  const input = new LineInput();
  const io: LoginIO = {
    say: (text) => process.stderr.write(text),
    // Only a person at a terminal needs the question; piped answers come as they are.
    ask: (question) => {
      if (process.stdin.isTTY) process.stderr.write(`${question}: `);
      return input.next();
    },
    interactive: process.stdin.isTTY === true,
  };
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      if (process.stdin.isTTY) process.stderr.write('\n');
      reject(new CliError(`login timed out after ${options.timeout} s`));
    }, timeoutMs);
  });
  let credentials;
  try {
    credentials = await Promise.race([runOAuthLogin(provider, io, { enterprise: options.enterprise, signal: abort.signal }), timedOut]);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`login failed: ${oneLine(err)}`);
  } finally {
    clearTimeout(timer);
    input.close();
  }
  if (out) {
    await writeCredentialsFile(out, credentials);
    process.stderr.write(`\nLogged in. Credentials saved to ${out} (mode 0600).\n`);
  }
  if (redis) {
    const key = await storeInRedis(redis, credentialsRedisKey(providerName, keyName), credentials);
    process.stderr.write(`\nLogged in. Credentials saved in Redis at ${redactedUrl(redis.url)}, key ${key}.\n`);
  }

  if (options.config !== false) await offerConfigEntry(oauth, out, providerName, keyName, options);
  // pi-ai's callback server may still hold the browser's keep-alive connection.
  process.exit(0);
}

/** The Redis URL and key prefix of `--redis`: given, or the config's `state.redis`. */
async function redisTarget(options: LoginCommandOptions): Promise<RedisTarget> {
  const configPath = typeof options.config === 'string' ? options.config : defaultConfigPath();
  const loaded = options.config !== false && existsSync(configPath) ? await loadConfigFile(configPath) : undefined;
  const configured = loaded?.ok ? loaded.config.state.redis : undefined;
  const url = typeof options.redis === 'string' ? options.redis : configured?.url;
  if (!url) {
    throw new CliError(`--redis needs a URL (--redis redis://host:6379): ${loaded ? `${configPath} has no usable state.redis.url` : `no config at ${configPath}`}`);
  }
  if (!/^rediss?:\/\/[^/]/.test(url)) throw new CliError('--redis must be a redis:// or rediss:// URL');
  return { url, keyPrefix: options.redisKeyPrefix ?? configured?.keyPrefix ?? DEFAULT_REDIS.keyPrefix };
}

/** Writes the login where the gateway reads it (a new login replaces the old one); returns the full key. */
async function storeInRedis(target: RedisTarget, key: string, credentials: OAuthCredentials): Promise<string> {
  await withRedis(target, (client) => client.set(key, JSON.stringify(credentials)));
  return `${target.keyPrefix}${key}`;
}

async function withRedis<T>(target: RedisTarget, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(target.url, { keyPrefix: target.keyPrefix, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000, retryStrategy: () => null });
  // The connection's own error says more than the "Connection is closed." connect() rejects with.
  let connectionError: unknown;
  client.on('error', (err) => (connectionError = err));
  try {
    await client.connect();
    return await use(client);
  } catch (err) {
    // ioredis names host and port, never the password.
    throw new CliError(`Redis at ${redactedUrl(target.url)} did not take the credentials: ${oneLine(connectionError ?? err)}`);
  } finally {
    client.disconnect();
  }
}

function redactedUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

async function offerConfigEntry(
  oauth: OAuthProviderId,
  credentialsFile: string | undefined,
  providerName: string,
  keyName: string,
  options: LoginCommandOptions,
): Promise<void> {
  const template = templateForOAuth(oauth);
  const key = credentialsFile ? { oauth, credentialsFile } : { oauth };
  const configPath = typeof options.config === 'string' ? options.config : defaultConfigPath();
  const snippet = `apiKeys:\n      ${keyName}: { oauth: ${oauth}${credentialsFile ? `, credentialsFile: ${credentialsFile}` : ''} }`;
  if (!existsSync(configPath)) {
    process.stderr.write(`No config at ${configPath}. To use the login, add to a provider:\n    ${snippet}\nor run "piapi ui".\n`);
    return;
  }
  const text = await readFile(configPath, 'utf8');
  const edited = addProviderKey(text, {
    providerName,
    keyName,
    key,
    newProvider: () => providerEntry(template, providerName, keyName, key, undefined),
  });
  const before = new Set(configErrors(text));
  const introduced = configErrors(edited.text).filter((e) => !before.has(e));
  if (introduced.length > 0) {
    throw new CliError(`the config would not be valid after the change, so it was left alone:\n  ${introduced.join('\n  ')}`);
  }
  if (!options.yes) {
    if (!process.stdin.isTTY) {
      process.stderr.write(`Not changing ${configPath} without --yes. It would have ${edited.change}.\n`);
      return;
    }
    const answer = await confirm({ message: `Update ${configPath}: ${edited.change}?` });
    if (isCancel(answer) || !answer) {
      process.stderr.write(`${configPath} left unchanged.\n`);
      return;
    }
  }
  const mode = (await stat(configPath)).mode & 0o777;
  await writeFileAtomic(configPath, edited.text, mode);
  process.stderr.write(`Updated ${configPath}: ${edited.change}. Point users at it with providerName: ${providerName}, providerKeyName: ${keyName}.\n`);
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/;\s*stack=[\s\S]*$/, '').replace(/\s+/g, ' ').trim();
}
