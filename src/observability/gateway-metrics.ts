import { register, collectDefaultMetrics, type Counter, type Gauge } from 'prom-client';
import type { GatewayConfig, LimitName } from '../config/gateway-config.js';
import type { BoundHistogram, BoundValues, HistogramSeries, ValueSeries } from './bound-series.js';
import type { TokenType, UpstreamErrorReason } from './metric-names.js';
import type { TokenUsage } from './usage-tap.js';
import type { Availability } from '../pools/pool-availability.js';

/** prom-client's `nodejs_active_*_total` are gauges; `_total` is for counters only. */
const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_resources_total', 'nodejs_active_handles_total', 'nodejs_active_requests_total'];

/** Node process defaults, once per process (several gateways may run in one test process). */
export function collectProcessMetrics(): void {
  if (register.getSingleMetric('process_cpu_seconds_total')) return;
  collectDefaultMetrics();
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) register.removeSingleMetric(name);
}

/** The metrics every request updates, with series bound once (bound-series.ts). */
export interface PerRequestMetrics {
  requests: BoundValues<'service_type' | 'status_class'>;
  latency: BoundHistogram<'service_type'>;
  inflight: BoundValues<'service_type'>;
  firstByte: BoundHistogram<'service_type'>;
  tokens: BoundValues<'user' | 'provider' | 'model' | 'type'>;
}

export interface GatewayMetricSet extends PerRequestMetrics {
  upstreamErrors: Counter<'service_type' | 'provider' | 'reason'>;
  configReloads: Counter<'result'>;
  configInfo: Gauge<'hash'>;
  conversationLogDropped: Counter;
  rateLimited: Counter<'user' | 'limit'>;
  stateStoreUp: Gauge;
  stateStoreErrors: Counter<'operation'>;
  upstreamAttempts: Counter<'service_type' | 'provider' | 'key' | 'outcome'>;
  providerKeyAvailable: Gauge<'provider' | 'key'>;
  providerKeyCooldown: Gauge<'provider' | 'key'>;
  keyPoolKeys: Gauge<'provider' | 'pool'>;
  keyPoolAvailableKeys: Gauge<'provider' | 'pool'>;
}

/** The pool members and pools of the running config, read when /metrics is scraped. */
export type KeyAvailabilitySource = () => Promise<Availability>;

/** What the gateway records; plain TypeScript over prom-client metric objects. */
export class GatewayMetrics {
  private knownTypes: { config: GatewayConfig; types: ReadonlySet<string> } | undefined;
  private droppedSeen = 0;
  private readonly byType = new Map<string, TypeSeries>();
  private readonly tokenSeries = new Map<string, Partial<Record<TokenType, ValueSeries>>>();

  constructor(private readonly m: GatewayMetricSet) {}

  /** The configured pass-through types of a snapshot (cached per snapshot). */
  serviceTypes(config: GatewayConfig): ReadonlySet<string> {
    if (this.knownTypes?.config !== config) {
      const types = new Set<string>();
      for (const provider of config.providers.values()) for (const type of provider.services.keys()) types.add(type);
      this.knownTypes = { config, types };
    }
    return this.knownTypes.types;
  }

  requestStarted(serviceType: string): void {
    this.typeSeries(serviceType).inflight.value++;
  }

  requestFinished(serviceType: string, statusClass: string, seconds: number): void {
    const series = this.typeSeries(serviceType);
    series.inflight.value--;
    let requests = series.requests.get(statusClass);
    if (!requests) {
      requests = this.m.requests.series({ service_type: serviceType, status_class: statusClass });
      series.requests.set(statusClass, requests);
    }
    requests.value++;
    series.latency.observe(seconds);
  }

  firstByte(serviceType: string, seconds: number): void {
    this.typeSeries(serviceType).firstByte.observe(seconds);
  }

  /** A service type's series, bound on first use (the values are bounded: configured types and fixed names). */
  private typeSeries(serviceType: string): TypeSeries {
    let series = this.byType.get(serviceType);
    if (!series) {
      const labels = { service_type: serviceType };
      series = {
        inflight: this.m.inflight.series(labels),
        latency: this.m.latency.series(labels),
        firstByte: this.m.firstByte.series(labels),
        requests: new Map(),
      };
      this.byType.set(serviceType, series);
    }
    return series;
  }

  upstreamError(serviceType: string, provider: string, reason: UpstreamErrorReason): void {
    this.m.upstreamErrors.inc({ service_type: serviceType, provider, reason });
  }

  tokens(user: string, provider: string, usage: TokenUsage, fallbackModel = 'unknown'): void {
    const model = usage.model ?? fallbackModel;
    const key = `${user}\u0000${provider}\u0000${model}`;
    let byType = this.tokenSeries.get(key);
    if (!byType) this.tokenSeries.set(key, (byType = {}));
    // A type's series appears with its first token, as with prom-client's inc.
    const add = (type: TokenType, n: number) => {
      if (n > 0) (byType[type] ??= this.m.tokens.series({ user, provider, model, type })).value += n;
    };
    add('input', usage.input);
    add('output', usage.output);
    add('cache_read', usage.cacheRead);
    add('cache_write', usage.cacheWrite);
  }

  /** Both result series exist from the start, so increase() sees a replica's first reload. */
  initConfigReloads(): void {
    this.m.configReloads.inc({ result: 'success' }, 0);
    this.m.configReloads.inc({ result: 'failure' }, 0);
  }

  configReload(ok: boolean): void {
    this.m.configReloads.inc({ result: ok ? 'success' : 'failure' });
  }

  /** `total` is the log's running count of dropped entries; the counter follows it. */
  conversationLogDropped(total: number): void {
    const delta = total - this.droppedSeen;
    if (delta > 0) this.m.conversationLogDropped.inc(delta);
    this.droppedSeen = Math.max(this.droppedSeen, total);
  }

  /** A request refused by one of its user's limits. */
  rateLimited(user: string, limit: LimitName): void {
    this.m.rateLimited.inc({ user, limit });
  }

  /** 1 while the state store answers (always, for state in process memory), 0 during an outage. */
  stateStoreUp(up: boolean): void {
    this.m.stateStoreUp.set(up ? 1 : 0);
  }

  stateStoreError(operation: string): void {
    this.m.stateStoreErrors.inc({ operation });
  }

  /** One upstream call of a request through a key pool; `key` is the config's key name. */
  upstreamAttempt(serviceType: string, provider: string, key: string, outcome: string): void {
    this.m.upstreamAttempts.inc({ service_type: serviceType, provider, key, outcome });
  }

  /**
   * Where the key pool gauges (`piapi_provider_key_available`, `piapi_provider_key_cooldown_seconds`,
   * `piapi_key_pool_keys`, `piapi_key_pool_available_keys`) are read from at each scrape.
   */
  keyAvailability(source: KeyAvailabilitySource): void {
    // prom-client calls every metric's `collect` at once for a scrape: the four share one read
    // of the cooldown store (one MGET per provider with Redis), not one each.
    let reading: Promise<Availability> | undefined;
    const read = () => {
      reading ??= source().finally(() => (reading = undefined));
      return reading;
    };
    const collectInto = <L extends string>(gauge: Gauge<L>, fill: (a: Availability) => void) => {
      (gauge as Gauge<L> & { collect?: () => Promise<void> }).collect = async () => {
        const availability = await read();
        gauge.reset();
        fill(availability);
      };
    };
    const { providerKeyAvailable, providerKeyCooldown, keyPoolKeys, keyPoolAvailableKeys } = this.m;
    collectInto(providerKeyAvailable, (a) => a.keys.forEach(({ provider, key, available }) => providerKeyAvailable.set({ provider, key }, available ? 1 : 0)));
    collectInto(providerKeyCooldown, (a) => a.keys.forEach(({ provider, key, cooldownSeconds }) => providerKeyCooldown.set({ provider, key }, cooldownSeconds)));
    collectInto(keyPoolKeys, (a) => a.pools.forEach(({ provider, pool, keys }) => keyPoolKeys.set({ provider, pool }, keys)));
    collectInto(keyPoolAvailableKeys, (a) => a.pools.forEach(({ provider, pool, availableKeys }) => keyPoolAvailableKeys.set({ provider, pool }, availableKeys)));
  }

  configLoaded(hash: string): void {
    this.m.configInfo.reset();
    this.m.configInfo.set({ hash }, 1);
  }
}

interface TypeSeries {
  inflight: ValueSeries;
  latency: HistogramSeries;
  firstByte: HistogramSeries;
  requests: Map<string, ValueSeries>;
}
