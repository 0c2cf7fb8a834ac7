import { resolve } from 'node:path';
import type { OAuthCredentials, OAuthProviderInterface } from '@mariozechner/pi-ai/oauth';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import { CredentialsFileError, fileVersion, isCredentials, readCredentialsFile, writeCredentialsFile } from './credentials-file.js';
import { FileLockTimeoutError, withFileLock, type FileLockOptions } from './file-lock.js';
import { oauthProvider, unknownOAuthProviderMessage } from './oauth-providers.js';

/** The parts of an OAuth-backed provider key the store needs. */
export interface OAuthKeyRef {
  name: string;
  oauth: string;
  credentialsFile: string;
}

export interface OAuthAccess {
  /** What the provider takes as its API key (pi-ai's `getApiKey`). */
  token: string;
  credentials: OAuthCredentials;
}

export interface OAuthCredentialStoreOptions {
  /** Refresh this long before `expires`; pi-ai alone refreshes only once a token has expired. */
  refreshMarginMs?: number;
  /** After a failed refresh, requests fail fast (or keep the still-valid token) this long before the next try. */
  failureBackoffMs?: number;
  /**
   * How long a request waits for a refresh. The refresh itself is not abandoned: a rotated
   * refresh token that arrives late is still saved, since the old one no longer works.
   */
  refreshWaitMs?: number;
  lock?: FileLockOptions;
  now?: () => number;
  /** Problems that do not fail the request (a refresh that could not be saved). Never given a token. */
  warn?: (message: string) => void;
}

export const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;

interface Entry {
  path: string;
  credentials?: OAuthCredentials;
  /** The file version `credentials` came from or was written as. */
  version?: string;
  /** Bumped whenever `credentials` changes, so a read that started earlier cannot overwrite newer ones. */
  generation: number;
  reading?: Promise<void>;
  refreshing?: Promise<OAuthCredentials>;
  failure?: { at: number; error: GatewayError };
}

/**
 * Access tokens for OAuth-backed provider keys, per request. Credentials live in one JSON file
 * per key (see credentials-file.ts), cached in memory and re-read when the file changes on disk
 * (another replica or `piapi login` rewrote it).
 *
 * Refreshes happen `refreshMarginMs` before expiry, at most one at a time per file: concurrent
 * requests share one refresh in this process, and a lock file keeps other processes out while
 * the file is re-read, refreshed and rewritten. That matters because openai-codex rotates its
 * refresh token on every refresh: a second refresh with the old token fails and can revoke the
 * login.
 */
export class OAuthCredentialStore {
  private readonly entries = new Map<string, Entry>();
  private readonly refreshMarginMs: number;
  private readonly failureBackoffMs: number;
  private readonly refreshWaitMs: number;
  private readonly lock: FileLockOptions;
  private readonly now: () => number;
  private readonly warn: (message: string) => void;

  constructor(options: OAuthCredentialStoreOptions = {}) {
    this.refreshMarginMs = options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
    this.failureBackoffMs = options.failureBackoffMs ?? 10_000;
    this.refreshWaitMs = options.refreshWaitMs ?? 30_000;
    // pi-ai's refresh requests have no timeout of their own; undici ends a silent one after 5 min.
    this.lock = options.lock ?? { waitMs: 30_000, staleMs: 6 * 60_000 };
    this.now = options.now ?? Date.now;
    this.warn = options.warn ?? (() => undefined);
  }

  async access(key: OAuthKeyRef): Promise<OAuthAccess> {
    const provider = oauthProvider(key.oauth);
    if (!provider) throw keyError(key, ErrorCode.Unavailable, unknownOAuthProviderMessage(key.oauth));
    const entry = this.entryFor(key.credentialsFile);
    await this.sync(entry, key);
    let credentials = entry.credentials as OAuthCredentials;
    if (this.needsRefresh(credentials)) credentials = await this.refresh(entry, key, provider);
    return { token: provider.getApiKey(credentials), credentials };
  }

  private entryFor(file: string): Entry {
    const path = resolve(file);
    let entry = this.entries.get(path);
    if (!entry) {
      entry = { path, generation: 0 };
      this.entries.set(path, entry);
    }
    return entry;
  }

  private needsRefresh(credentials: OAuthCredentials): boolean {
    return this.now() >= credentials.expires - this.refreshMarginMs;
  }

  /** Loads the file unless the cached credentials came from its current version. */
  private async sync(entry: Entry, key: OAuthKeyRef): Promise<void> {
    let version: string;
    try {
      version = await fileVersion(entry.path);
    } catch (err) {
      throw keyError(key, ErrorCode.Unavailable, `cannot read ${entry.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (entry.credentials && version === entry.version) return;
    entry.reading ??= this.read(entry, key).finally(() => {
      entry.reading = undefined;
    });
    await entry.reading;
  }

  private async read(entry: Entry, key: OAuthKeyRef): Promise<void> {
    const generation = entry.generation;
    let read: Awaited<ReturnType<typeof readCredentialsFile>>;
    try {
      read = await readCredentialsFile(entry.path);
    } catch (err) {
      if (err instanceof CredentialsFileError) throw keyError(key, ErrorCode.Unavailable, err.message);
      throw err;
    }
    if (entry.generation === generation) this.install(entry, read.credentials, read.version);
  }

  private install(entry: Entry, credentials: OAuthCredentials, version: string | undefined): void {
    entry.credentials = credentials;
    entry.version = version;
    entry.generation++;
    entry.failure = undefined;
  }

  /** One refresh per file at a time; everyone who asks meanwhile gets its result. */
  private async refresh(entry: Entry, key: OAuthKeyRef, provider: OAuthProviderInterface): Promise<OAuthCredentials> {
    entry.refreshing ??= this.refreshOnce(entry, key, provider).finally(() => {
      entry.refreshing = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(keyError(key, ErrorCode.UpstreamTimeout, `OAuth token refresh took longer than ${this.refreshWaitMs} ms`)),
        this.refreshWaitMs,
      );
    });
    const current = entry.credentials as OAuthCredentials;
    try {
      return await Promise.race([entry.refreshing, gaveUp]);
    } catch (err) {
      // A slow early refresh: the current token still works meanwhile.
      if (err instanceof GatewayError && err.code === ErrorCode.UpstreamTimeout && this.now() < current.expires) return current;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async refreshOnce(entry: Entry, key: OAuthKeyRef, provider: OAuthProviderInterface): Promise<OAuthCredentials> {
    const current = entry.credentials as OAuthCredentials;
    if (entry.failure && this.now() - entry.failure.at < this.failureBackoffMs) {
      if (this.now() < current.expires) return current;
      throw entry.failure.error;
    }
    try {
      return await withFileLock(entry.path, this.lock, async () => {
        // Another process may have refreshed while we waited for the lock: its file wins, and
        // its refresh token is the only one still valid.
        await this.sync(entry, key);
        const latest = entry.credentials as OAuthCredentials;
        if (!this.needsRefresh(latest)) return latest;
        const fresh = await refreshCredentials(provider, latest, key);
        let version = entry.version;
        try {
          version = await writeCredentialsFile(entry.path, fresh);
        } catch (err) {
          // Keep serving the new tokens; the version stays the old file's so that file is not
          // read back over them. A restart would find the old, now used, refresh token.
          this.warn(
            `Provider key "${key.name}": refreshed OAuth credentials could not be saved to ${entry.path}: ` +
              `${(err as NodeJS.ErrnoException).code ?? String(err)}`,
          );
        }
        this.install(entry, fresh, version);
        return fresh;
      });
    } catch (err) {
      const error =
        err instanceof GatewayError
          ? err
          : err instanceof FileLockTimeoutError
            ? keyError(key, ErrorCode.Unavailable, `${err.message} (another process is refreshing these credentials)`)
            : keyError(key, ErrorCode.Internal, `OAuth refresh failed: ${describe(err, [current.access, current.refresh])}`);
      entry.failure = { at: this.now(), error };
      if (this.now() < current.expires) {
        this.warn(`${error.message}; using the current token until it expires`);
        return current;
      }
      throw error;
    }
  }

}

/** pi-ai's refresh of `credentials`, with errors that name the key, hold no token and say how to log in again. */
export async function refreshCredentials(
  provider: OAuthProviderInterface,
  credentials: OAuthCredentials,
  key: { name: string; oauth: string; credentialsFile?: string },
): Promise<OAuthCredentials> {
  let fresh: OAuthCredentials;
  try {
    fresh = await provider.refreshToken(credentials);
  } catch (err) {
    const login = key.credentialsFile === undefined ? `piapi login ${key.oauth} --redis` : `piapi login ${key.oauth} --out ${key.credentialsFile}`;
    throw keyError(
      key,
      ErrorCode.UpstreamError,
      `OAuth token refresh failed: ${describe(err, [credentials.access, credentials.refresh])}. If the login was revoked or expired, run "${login}"`,
    );
  }
  if (!isCredentials(fresh)) {
    throw keyError(key, ErrorCode.UpstreamError, 'OAuth token refresh returned no access token, refresh token or expiry');
  }
  return fresh;
}

export function keyError(key: { name: string }, code: ErrorCode, message: string): GatewayError {
  return new GatewayError(code, `Provider key "${key.name}": ${message}`);
}

const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]*/g;

/** A provider error as one short line, with secrets and stack traces taken out. */
export function describe(err: unknown, secrets: readonly string[]): string {
  let text = err instanceof Error ? err.message : String(err);
  // pi-ai's Anthropic errors append `; stack=...` to the message.
  text = text.replace(/;\s*stack=[\s\S]*$/, '');
  for (const secret of secrets) if (secret.length >= 8) text = text.split(secret).join('[redacted]');
  text = text.replace(JWT, '[redacted]').replace(/\s+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
