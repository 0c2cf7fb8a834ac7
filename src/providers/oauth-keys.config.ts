import { registerSectionValidator } from '../config/config-loader.js';
import { isOAuthKey } from '../config/gateway-config.schema.js';
import { isOAuthProviderId, unknownOAuthProviderMessage } from './oauth-providers.js';

/**
 * Importing this file makes config loading check that every OAuth-backed key names a provider
 * piapi can refresh, so a typo fails at boot instead of on the first request.
 */
registerSectionValidator((dto) =>
  dto.providers.flatMap((provider, i) =>
    Object.entries(provider.apiKeys)
      .filter(([, value]) => isOAuthKey(value) && !isOAuthProviderId(value.oauth))
      .map(([name, value]) => `providers[${i}].apiKeys.${name}.oauth: ${unknownOAuthProviderMessage((value as { oauth: string }).oauth)}`),
  ),
);
