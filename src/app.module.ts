import { Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { AuthModule } from './auth/auth.module.js';
import { ConfigModule, type BootOptions } from './config/config.module.js';
import type { ConfigStore } from './config/config-store.js';
import { DemoModule } from './demo/demo.module.js';
import { HealthModule } from './health/health.module.js';
import { MessagesModule } from './messages/messages.module.js';
import { LoggingModule } from './observability/logging.module.js';
import { MetricsModule } from './observability/metrics.module.js';
import { PoolsModule } from './pools/pools.module.js';
import { ProxyModule } from './proxy/proxy.module.js';
import { ResponsesModule } from './responses/responses.module.js';
import { StateModule } from './state/state.module.js';

export interface AppModuleOptions {
  store: ConfigStore;
  boot: BootOptions;
  logger: Logger;
}

@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(options.store, options.boot),
        LoggingModule.forRoot(options.logger),
        MetricsModule,
        StateModule,
        PoolsModule,
        HealthModule,
        AuthModule,
        ProxyModule,
        MessagesModule,
        ResponsesModule,
        DemoModule,
      ],
    };
  }
}
