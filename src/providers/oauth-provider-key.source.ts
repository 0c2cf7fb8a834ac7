import type { ProviderKey } from '../config/gateway-config.js';
import type { OAuthCredentialStore } from './oauth-credential-store.js';
import { passThroughHeaders } from './oauth-pass-through-headers.js';
import type { ProviderKeySource, ResolvedProviderKey } from './provider-key.source.js';

/** Static keys as they are; OAuth-backed keys as a fresh access token plus the headers that go with it. */
export class OAuthProviderKeySource implements ProviderKeySource {
  constructor(private readonly store: OAuthCredentialStore) {}

  resolve(key: ProviderKey): ResolvedProviderKey | Promise<ResolvedProviderKey> {
    if (key.kind === 'static') return { secret: key.value };
    return this.resolveOAuth(key);
  }

  private async resolveOAuth(key: Extract<ProviderKey, { kind: 'oauth' }>): Promise<ResolvedProviderKey> {
    const { token, credentials } = await this.store.access(key);
    const headers = passThroughHeaders(key.oauth, token, credentials);
    return headers ? { secret: token, headers } : { secret: token };
  }
}
