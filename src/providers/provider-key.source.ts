import type { ProviderKey } from '../config/gateway-config.js';

/** The secret to send upstream for a provider key, and headers that belong with it. */
export interface ResolvedProviderKey {
  secret: string;
  headers?: Readonly<Record<string, string>>;
}

/** Turns a configured provider key into the secret for this request (OAuth keys refresh here). */
export interface ProviderKeySource {
  resolve(key: ProviderKey): Promise<ResolvedProviderKey> | ResolvedProviderKey;
}

export const PROVIDER_KEY_SOURCE = Symbol('PROVIDER_KEY_SOURCE');
