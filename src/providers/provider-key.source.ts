import type { ProviderKey } from '../config/gateway-config.js';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';

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

/** Static keys only; OAuth-backed keys are served by the OAuth credential store when it is present. */
export class StaticProviderKeySource implements ProviderKeySource {
  resolve(key: ProviderKey): ResolvedProviderKey {
    if (key.kind === 'static') return { secret: key.value };
    throw new GatewayError(ErrorCode.Unavailable, `Provider key "${key.name}" needs OAuth credentials, which this gateway cannot serve`);
  }
}
