import { Logger, Module } from '@nestjs/common';
import { GatewayConfigService } from '../config/gateway-config.service.js';
import { StateService } from '../state/state.service.js';
import { DEFAULT_REFRESH_MARGIN_MS, OAuthCredentialStore } from './oauth-credential-store.js';
import './oauth-keys.config.js';
import { OAuthProviderKeySource } from './oauth-provider-key.source.js';
import { PROVIDER_KEY_SOURCE } from './provider-key.source.js';
import { RedisCredentialStore } from './redis-credential-store.js';

/**
 * Provider keys for every feature that calls upstreams (pass-through proxy, Messages API): one
 * credential store per gateway, so refreshes of a credentials file (or, with `state.redis`, of
 * the credentials in Redis) are shared by all of them.
 */
@Module({
  providers: [
    {
      provide: OAuthCredentialStore,
      useFactory: () => {
        const logger = new Logger('OAuth');
        return new OAuthCredentialStore({
          refreshMarginMs: refreshMarginFromEnv(process.env.PIAPI_OAUTH_REFRESH_MARGIN_MS),
          warn: (message) => logger.warn(message),
        });
      },
    },
    {
      provide: RedisCredentialStore,
      useFactory: () => {
        const logger = new Logger('OAuth');
        return new RedisCredentialStore({
          refreshMarginMs: refreshMarginFromEnv(process.env.PIAPI_OAUTH_REFRESH_MARGIN_MS),
          warn: (message) => logger.warn(message),
        });
      },
    },
    {
      provide: PROVIDER_KEY_SOURCE,
      useFactory: (files: OAuthCredentialStore, shared: RedisCredentialStore, state: StateService, config: GatewayConfigService) =>
        new OAuthProviderKeySource({ files, shared, redis: () => state.redisFor(config.current) }),
      inject: [OAuthCredentialStore, RedisCredentialStore, StateService, GatewayConfigService],
    },
  ],
  exports: [PROVIDER_KEY_SOURCE, OAuthCredentialStore],
})
export class ProvidersModule {}

function refreshMarginFromEnv(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_REFRESH_MARGIN_MS;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`PIAPI_OAUTH_REFRESH_MARGIN_MS must be a whole number of milliseconds, not ${JSON.stringify(value)}`);
  return ms;
}
