import { Global, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { GatewayConfigService } from '../config/gateway-config.service.js';
import { MetricsService } from '../observability/metrics.module.js';
import { StateService } from '../state/state.service.js';
import { KeyPools } from './key-pools.js';

/** Nest face of KeyPools: cooldowns in the config's Redis when it has one, availability on /metrics. */
@Injectable()
export class KeyPoolService extends KeyPools implements OnModuleInit {
  constructor(
    state: StateService,
    private readonly config: GatewayConfigService,
    private readonly metrics: MetricsService,
  ) {
    super((config) => state.redisFor(config));
  }

  onModuleInit(): void {
    this.metrics.keyAvailability(() => this.availability(this.config.current));
  }
}

/** Key pools for every feature that calls upstreams with a user's key. */
@Global()
@Module({
  providers: [KeyPoolService],
  exports: [KeyPoolService],
})
export class PoolsModule {}
