import { Global, Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule as NestConfigModule } from '@nestjs/config';
import type { ConfigStore } from './config-store.js';
import { CONFIG_STORE, GatewayConfigService } from './gateway-config.service.js';

export interface BootOptions {
  configPath: string;
  listen: string;
}

/** The hot-reloading YAML config. Boot options (path, listen) go through @nestjs/config. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(store: ConfigStore, boot: BootOptions): DynamicModule {
    return {
      module: ConfigModule,
      imports: [NestConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ boot })] })],
      providers: [{ provide: CONFIG_STORE, useValue: store }, GatewayConfigService],
      exports: [GatewayConfigService, NestConfigModule],
    };
  }
}
