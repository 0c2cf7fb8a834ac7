import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { GatewayConfig, RedisSettings } from '../config/gateway-config.js';
import { GatewayConfigService } from '../config/gateway-config.service.js';
import { hasLimits } from '../limits/user-limiter.js';
import { MetricsService } from '../observability/metrics.module.js';
import { RedisStateStore } from './redis-state-store.js';

/** How long a store replaced by a reload stays open for the requests that still use it. */
const RETIRE_AFTER_MS = 10_000;

/**
 * The state store of the current config: a RedisStateStore while `state.redis` is set (replaced
 * when a reload changes it), else none (state lives in process memory). Reports availability
 * as `piapi_state_store_up` and one log line per change.
 */
@Injectable()
export class StateService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('State');
  private store: RedisStateStore | undefined;
  private readonly retiring = new Map<RedisStateStore, NodeJS.Timeout>();

  constructor(
    private readonly config: GatewayConfigService,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.apply(this.config.current, true);
    this.config.store.onReload((result) => {
      if (result.ok && result.changed) this.apply(result.config, false);
    });
  }

  /** The Redis store for a snapshot with `state.redis`; undefined when its state stays in this process. */
  redisFor(config: GatewayConfig): RedisStateStore | undefined {
    return config.state.redis ? this.store : undefined;
  }

  async onModuleDestroy(): Promise<void> {
    const stores = [...this.retiring.keys(), ...(this.store ? [this.store] : [])];
    for (const timer of this.retiring.values()) clearTimeout(timer);
    this.retiring.clear();
    this.store = undefined;
    await Promise.all(stores.map((s) => s.close()));
  }

  private apply(config: GatewayConfig, boot: boolean): void {
    const settings = config.state.redis;
    if (!sameConnection(this.store?.settings, settings)) {
      if (this.store) this.retire(this.store);
      this.store = settings ? this.open(settings) : undefined;
      if (!settings) this.metrics.stateStoreUp(true);
    }
    if (!settings && config.users.some((u) => hasLimits(u.limits))) {
      this.logger.warn(
        'limits are counted by this process alone (no state.redis): with several replicas or --workers, each process enforces its own limits; set state.redis for one shared limit',
      );
    } else if (boot && settings) {
      this.logger.log({ key_prefix: settings.keyPrefix }, 'state is kept in Redis (limit counters, OAuth credentials)');
    }
  }

  private open(settings: RedisSettings): RedisStateStore {
    this.metrics.stateStoreUp(false);
    return new RedisStateStore(settings, {
      availability: (up, reason) => {
        if (this.store?.settings !== settings) return;
        this.metrics.stateStoreUp(up);
        if (up) {
          this.logger.log('state store reachable: limits are enforced and OAuth credentials shared');
          return;
        }
        const deny = this.config.current.state.redis?.onError === 'deny';
        this.logger.warn({ reason }, `state store unreachable: limited requests are ${deny ? 'refused with 503' : 'served without limit checks'} until it is back`);
      },
      failure: (operation) => this.metrics.stateStoreError(operation),
    });
  }

  private retire(store: RedisStateStore): void {
    const timer = setTimeout(() => {
      this.retiring.delete(store);
      void store.close();
    }, RETIRE_AFTER_MS);
    timer.unref();
    this.retiring.set(store, timer);
  }
}

/** Whether two settings use the same connection (`onError` is read per request). */
function sameConnection(a: RedisSettings | undefined, b: RedisSettings | undefined): boolean {
  if (!a || !b) return a === b;
  return a.url === b.url && a.keyPrefix === b.keyPrefix && a.commandTimeoutMs === b.commandTimeoutMs;
}
