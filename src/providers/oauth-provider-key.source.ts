import type { ProviderKey } from '../config/gateway-config.js';
import { ErrorCode } from '../errors/error-codes.js';
import type { RedisStateStore } from '../state/redis-state-store.js';
import { keyError, type OAuthAccess } from './oauth-credential-store.js';
import { passThroughHeaders } from './oauth-pass-through-headers.js';
import type { ProviderKeySource, ResolvedProviderKey } from './provider-key.source.js';
import type { SharedOAuthKey } from './redis-credential-store.js';

type OAuthKey = Extract<ProviderKey, { kind: 'oauth' }>;

/** Where an OAuth key's credentials are read and refreshed. */
export interface OAuthCredentialSources {
  /** The credentials file (and its lock file): without `state.redis`. */
  files: { access(key: { name: string; oauth: string; credentialsFile: string }): Promise<OAuthAccess> };
  /** Redis, shared by every replica: with `state.redis`. */
  shared?: { access(key: SharedOAuthKey, store: RedisStateStore): Promise<OAuthAccess> };
  /** The Redis store of the current config, if it has one. */
  redis?: () => RedisStateStore | undefined;
}

/** Static keys as they are; OAuth-backed keys as a fresh access token plus the headers that go with it. */
export class OAuthProviderKeySource implements ProviderKeySource {
  constructor(private readonly sources: OAuthCredentialSources) {}

  resolve(key: ProviderKey): ResolvedProviderKey | Promise<ResolvedProviderKey> {
    if (key.kind === 'static') return { secret: key.value };
    return this.resolveOAuth(key);
  }

  private async resolveOAuth(key: OAuthKey): Promise<ResolvedProviderKey> {
    const { token, credentials } = await this.access(key);
    const headers = passThroughHeaders(key.oauth, token, credentials);
    return headers ? { secret: token, headers } : { secret: token };
  }

  private access(key: OAuthKey): Promise<OAuthAccess> {
    const redis = this.sources.redis?.();
    if (redis && this.sources.shared) return this.sources.shared.access(key, redis);
    const credentialsFile = key.credentialsFile;
    // The config requires a file without state.redis; a snapshot of a config with Redis may still be in flight.
    if (credentialsFile === undefined) return Promise.reject(keyError(key, ErrorCode.Unavailable, 'no credentials file, and no state store to read the credentials from'));
    return this.sources.files.access({ name: key.name, oauth: key.oauth, credentialsFile });
  }
}
