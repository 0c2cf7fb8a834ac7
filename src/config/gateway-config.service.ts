import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ConfigFileWatcher } from './config-file.watcher.js';
import { ConfigStore } from './config-store.js';
import type { GatewayConfig } from './gateway-config.js';

export const CONFIG_STORE = Symbol('CONFIG_STORE');

/** Nest face of the ConfigStore: current snapshot for consumers, file watching for hot reload. */
@Injectable()
export class GatewayConfigService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Config');
  private watcher: ConfigFileWatcher | undefined;

  constructor(@Inject(CONFIG_STORE) readonly store: ConfigStore) {
    store.onReload((result) => {
      if (result.ok) {
        if (result.changed) this.logger.log({ config_hash: result.config.hash }, 'config reloaded');
      } else {
        this.logger.warn({ errors: result.errors }, 'config reload rejected; keeping the previous config');
      }
    });
  }

  /** The snapshot a request should use from start to end. */
  get current(): GatewayConfig {
    return this.store.current;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.watcher = new ConfigFileWatcher(
      this.store.path,
      () => void this.store.reload(),
      (error) => this.logger.warn({ err: error }, 'config file watcher failed; hot reload may have stopped'),
    );
    await this.watcher.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.watcher?.close();
  }
}
