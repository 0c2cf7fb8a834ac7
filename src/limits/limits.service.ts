import type { ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import type { GatewayConfig, User } from '../config/gateway-config.js';
import { MetricsService } from '../observability/metrics.module.js';
import type { RedisStateStore } from '../state/redis-state-store.js';
import { StateService } from '../state/state.service.js';
import { LimitCounters } from './limit-counters.js';
import { UNLIMITED, UserLimiter, type Admission, type CounterStore } from './user-limiter.js';

/** Nest face of UserLimiter: the counters of the config's store, and a request's slot freed when its response closes. */
@Injectable()
export class LimitsService {
  private readonly limiter: UserLimiter;
  private readonly memory: CounterStore = { counters: LimitCounters.memory(), onError: 'allow' };
  private readonly redisCounters = new WeakMap<RedisStateStore, LimitCounters>();

  constructor(
    private readonly state: StateService,
    metrics: MetricsService,
  ) {
    this.limiter = new UserLimiter({ refused: (user, limit) => metrics.rateLimited(user, limit) });
  }

  /**
   * The user's admission for this request, or a 429 (GatewayError) when a limit refuses it.
   * Synchronous for users without limits: the hot path pays nothing for the feature.
   */
  admit(user: User, config: GatewayConfig, res: ServerResponse): Admission | Promise<Admission> {
    const admitting = this.limiter.admit(user, this.storeFor(config));
    if (admitting === UNLIMITED) return UNLIMITED;
    // Listening before the checks end: a client gone meanwhile must not keep its slot.
    let closed = false;
    let admission: Admission | undefined;
    res.on('close', () => {
      closed = true;
      admission?.release();
    });
    const held = (a: Admission): Admission => {
      admission = a;
      if (closed) a.release();
      return a;
    };
    return admitting instanceof Promise ? admitting.then(held) : held(admitting);
  }

  private storeFor(config: GatewayConfig): CounterStore {
    const redis = this.state.redisFor(config);
    if (!redis || !config.state.redis) return this.memory;
    let counters = this.redisCounters.get(redis);
    if (!counters) {
      counters = LimitCounters.redis(redis);
      this.redisCounters.set(redis, counters);
    }
    return { counters, onError: config.state.redis.onError };
  }
}
