import type { OAuthCredentials, OAuthProviderInterface } from '@mariozechner/pi-ai/oauth';
import { Mutex } from 'redis-semaphore';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import { StateStoreUnavailableError, type RedisStateStore } from '../state/redis-state-store.js';
import { CredentialsFileError, isCredentials, readCredentialsFile } from './credentials-file.js';
import { DEFAULT_REFRESH_MARGIN_MS, keyError, refreshCredentials, type OAuthAccess } from './oauth-credential-store.js';
import { oauthProvider, unknownOAuthProviderMessage } from './oauth-providers.js';

/** An OAuth-backed provider key as the Redis store needs it. */
export interface SharedOAuthKey {
  name: string;
  /** The config's provider name: part of the Redis key. */
  provider: string;
  oauth: string;
  /** Seeds Redis when it holds no credentials for the key yet. */
  credentialsFile?: string;
}

/** Where a key's credentials live in Redis (under the configured key prefix). */
export function credentialsRedisKey(provider: string, keyName: string): string {
  return `oauth:${provider}:${keyName}`;
}

export interface RedisCredentialStoreOptions {
  refreshMarginMs?: number;
  /** After a failed refresh, requests keep the still-valid token (or fail fast) this long before the next try. */
  failureBackoffMs?: number;
  /** How long a request waits for the fleet's refresh (its own or another process's). */
  refreshWaitMs?: number;
  /** How long a refresh lock outlives its holder: a process that dies mid-refresh frees it within this. */
  lockMs?: number;
  now?: () => number;
  warn?: (message: string) => void;
}

interface Entry {
  credentials?: OAuthCredentials;
  refreshing?: Promise<OAuthCredentials>;
  failure?: { at: number; error: GatewayError };
  /** Rotated credentials Redis has not taken yet (it failed while they were written). */
  unsaved?: OAuthCredentials;
}

/**
 * OAuth credentials shared by every replica through Redis (`state.redis`): the key
 * `<prefix>oauth:<provider>:<key name>` holds pi-ai's credentials JSON, seeded from the key's
 * `credentialsFile` when Redis has none. A refresh takes a Redis lock (SET NX with expiry,
 * released only by its owner: redis-semaphore's mutex), so one process in the fleet refreshes;
 * the others wait for the lock, then read the rotated credentials instead of refreshing with a
 * refresh token that no longer works (ChatGPT's work once).
 *
 * Requests read the key every time (one GET), so a new `piapi login --redis` is used at once.
 * While Redis is unreachable the last credentials read keep serving until they expire; no
 * refresh happens without the lock.
 */
export class RedisCredentialStore {
  private readonly entries = new WeakMap<RedisStateStore, Map<string, Entry>>();
  private readonly refreshMarginMs: number;
  private readonly failureBackoffMs: number;
  private readonly refreshWaitMs: number;
  private readonly lockMs: number;
  private readonly now: () => number;
  private readonly warn: (message: string) => void;

  constructor(options: RedisCredentialStoreOptions = {}) {
    this.refreshMarginMs = options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
    this.failureBackoffMs = options.failureBackoffMs ?? 10_000;
    this.refreshWaitMs = options.refreshWaitMs ?? 30_000;
    // pi-ai's refresh requests have no timeout of their own (undici ends a silent one after 5 min),
    // and the lock is not refreshed while one runs: redis-semaphore's refresh timer turns a Redis
    // failure into an unhandled rejection. As the lock file's staleMs.
    this.lockMs = options.lockMs ?? 6 * 60_000;
    this.now = options.now ?? Date.now;
    this.warn = options.warn ?? (() => undefined);
  }

  async access(key: SharedOAuthKey, store: RedisStateStore): Promise<OAuthAccess> {
    const provider = oauthProvider(key.oauth);
    if (!provider) throw keyError(key, ErrorCode.Unavailable, unknownOAuthProviderMessage(key.oauth));
    const entry = this.entryFor(store, key);
    let credentials = await this.read(entry, key, store);
    if (this.needsRefresh(credentials)) credentials = await this.refresh(entry, key, store, provider);
    return { token: provider.getApiKey(credentials), credentials };
  }

  private entryFor(store: RedisStateStore, key: SharedOAuthKey): Entry {
    let byKey = this.entries.get(store);
    if (!byKey) this.entries.set(store, (byKey = new Map<string, Entry>()));
    const id = credentialsRedisKey(key.provider, key.name);
    let entry = byKey.get(id);
    if (!entry) byKey.set(id, (entry = {}));
    return entry;
  }

  private needsRefresh(credentials: OAuthCredentials): boolean {
    return this.now() >= credentials.expires - this.refreshMarginMs;
  }

  /** The credentials in Redis (seeded from the file first if need be); the last ones read while Redis is away. */
  private async read(entry: Entry, key: SharedOAuthKey, store: RedisStateStore): Promise<OAuthCredentials> {
    const redisKey = credentialsRedisKey(key.provider, key.name);
    try {
      if (entry.unsaved) await this.save(entry, store, redisKey, entry.unsaved);
      let text = await store.run('oauth_read', (c) => c.get(redisKey));
      if (text === null) text = await this.seed(key, store, redisKey);
      entry.credentials = parseStored(text, key);
    } catch (err) {
      if (!(err instanceof StateStoreUnavailableError)) throw err;
      if (!entry.credentials) {
        throw keyError(key, ErrorCode.Unavailable, 'OAuth credentials are kept in the state store (Redis), which is unavailable');
      }
    }
    return entry.credentials;
  }

  /** Writes the file's credentials unless another process got there first; returns what Redis holds. */
  private async seed(key: SharedOAuthKey, store: RedisStateStore, redisKey: string): Promise<string> {
    if (!key.credentialsFile) {
      throw keyError(key, ErrorCode.Unavailable, `no OAuth credentials in Redis; run "piapi login ${key.oauth} --redis --provider-name ${key.provider} --key-name ${key.name}"`);
    }
    let seeded: OAuthCredentials;
    try {
      seeded = (await readCredentialsFile(key.credentialsFile)).credentials;
    } catch (err) {
      if (err instanceof CredentialsFileError) throw keyError(key, ErrorCode.Unavailable, `no OAuth credentials in Redis, and ${err.message}`);
      throw err;
    }
    const text = JSON.stringify(seeded);
    return store.run('oauth_write', async (c) => {
      await c.set(redisKey, text, 'NX');
      return (await c.get(redisKey)) ?? text;
    });
  }

  /** One refresh per key at a time in this process; everyone who asks meanwhile gets its result. */
  private async refresh(entry: Entry, key: SharedOAuthKey, store: RedisStateStore, provider: OAuthProviderInterface): Promise<OAuthCredentials> {
    const current = entry.credentials as OAuthCredentials;
    entry.refreshing ??= this.refreshOnce(entry, key, store, provider).finally(() => {
      entry.refreshing = undefined;
    });
    try {
      return await entry.refreshing;
    } catch (err) {
      if (this.now() < current.expires) {
        this.warn(`${describeError(err)}; using the current token until it expires`);
        return current;
      }
      throw err;
    }
  }

  private async refreshOnce(entry: Entry, key: SharedOAuthKey, store: RedisStateStore, provider: OAuthProviderInterface): Promise<OAuthCredentials> {
    if (entry.failure && this.now() - entry.failure.at < this.failureBackoffMs) throw entry.failure.error;
    const redisKey = credentialsRedisKey(key.provider, key.name);
    const lock = new Mutex(store.client, `oauth-refresh:${key.provider}:${key.name}`, {
      lockTimeout: this.lockMs,
      acquireTimeout: this.refreshWaitMs,
      retryInterval: 50,
      refreshInterval: 0,
    });
    try {
      // Waiting for another process's refresh is part of taking the lock.
      const acquired = await store.run('oauth_lock', () => lock.tryAcquire(), this.refreshWaitMs + 1_000);
      if (!acquired) throw keyError(key, ErrorCode.UpstreamTimeout, `OAuth token refresh by another process took longer than ${this.refreshWaitMs} ms`);
      try {
        // Whoever held the lock before may have refreshed: its credentials are the only valid ones.
        const latest = parseStored((await store.run('oauth_read', (c) => c.get(redisKey))) ?? JSON.stringify(entry.credentials), key);
        entry.credentials = latest;
        if (!this.needsRefresh(latest)) return latest;
        const fresh = await refreshCredentials(provider, latest, key);
        entry.credentials = fresh;
        entry.failure = undefined;
        await this.save(entry, store, redisKey, fresh).catch(() => {
          this.warn(`Provider key "${key.name}": refreshed OAuth credentials could not be saved to Redis yet; kept in memory and saved once it answers`);
        });
        return fresh;
      } finally {
        await lock.release().catch(() => undefined);
      }
    } catch (err) {
      const error =
        err instanceof GatewayError
          ? err
          : err instanceof StateStoreUnavailableError
            ? keyError(key, ErrorCode.Unavailable, 'OAuth token refresh needs the state store (Redis) for its lock, and it is unavailable')
            : keyError(key, ErrorCode.Internal, `OAuth refresh failed: ${describeError(err)}`);
      entry.failure = { at: this.now(), error };
      throw error;
    }
  }

  private async save(entry: Entry, store: RedisStateStore, redisKey: string, credentials: OAuthCredentials): Promise<void> {
    entry.unsaved = credentials;
    await store.run('oauth_write', (c) => c.set(redisKey, JSON.stringify(credentials)));
    if (entry.unsaved === credentials) entry.unsaved = undefined;
  }
}

function parseStored(text: string, key: SharedOAuthKey): OAuthCredentials {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!isCredentials(value)) {
    throw keyError(key, ErrorCode.Unavailable, `the OAuth credentials in Redis are not valid; run "piapi login ${key.oauth} --redis" again`);
  }
  return value;
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
