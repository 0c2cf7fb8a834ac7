import { register, collectDefaultMetrics, type Counter, type Gauge, type Histogram } from 'prom-client';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { TokenType, UpstreamErrorReason } from './metric-names.js';
import type { TokenUsage } from './usage-tap.js';

/** prom-client's `nodejs_active_*_total` are gauges; `_total` is for counters only. */
const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_resources_total', 'nodejs_active_handles_total', 'nodejs_active_requests_total'];

/** Node process defaults, once per process (several gateways may run in one test process). */
export function collectProcessMetrics(): void {
  if (register.getSingleMetric('process_cpu_seconds_total')) return;
  collectDefaultMetrics();
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) register.removeSingleMetric(name);
}

export interface GatewayMetricSet {
  requests: Counter<'service_type' | 'status_class'>;
  latency: Histogram<'service_type'>;
  inflight: Gauge<'service_type'>;
  firstByte: Histogram<'service_type'>;
  upstreamErrors: Counter<'service_type' | 'provider' | 'reason'>;
  tokens: Counter<'user' | 'provider' | 'model' | 'type'>;
  configReloads: Counter<'result'>;
  configInfo: Gauge<'hash'>;
  conversationLogDropped: Counter;
}

/** What the gateway records; plain TypeScript over prom-client metric objects. */
export class GatewayMetrics {
  private knownTypes: { config: GatewayConfig; types: ReadonlySet<string> } | undefined;
  private droppedSeen = 0;
  private readonly byType = new Map<string, { service_type: string }>();
  private readonly byTypeAndStatus = new Map<string, Map<string, { service_type: string; status_class: string }>>();

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
    this.m.inflight.inc(this.typeLabels(serviceType));
  }

  requestFinished(serviceType: string, statusClass: string, seconds: number): void {
    const labels = this.typeLabels(serviceType);
    this.m.inflight.dec(labels);
    this.m.requests.inc(this.statusLabels(serviceType, statusClass));
    this.m.latency.observe(labels, seconds);
  }

  firstByte(serviceType: string, seconds: number): void {
    this.m.firstByte.observe(this.typeLabels(serviceType), seconds);
  }

  /**
   * Label objects made once per value (the values are bounded: configured types and fixed names),
   * not once per request.
   */
  private typeLabels(serviceType: string): { service_type: string } {
    let labels = this.byType.get(serviceType);
    if (!labels) this.byType.set(serviceType, (labels = Object.freeze({ service_type: serviceType })));
    return labels;
  }

  private statusLabels(serviceType: string, statusClass: string): { service_type: string; status_class: string } {
    let byStatus = this.byTypeAndStatus.get(serviceType);
    if (!byStatus) this.byTypeAndStatus.set(serviceType, (byStatus = new Map<string, { service_type: string; status_class: string }>()));
    let labels = byStatus.get(statusClass);
    if (!labels) byStatus.set(statusClass, (labels = Object.freeze({ service_type: serviceType, status_class: statusClass })));
    return labels;
  }

  upstreamError(serviceType: string, provider: string, reason: UpstreamErrorReason): void {
    this.m.upstreamErrors.inc({ service_type: serviceType, provider, reason });
  }

  tokens(user: string, provider: string, usage: TokenUsage, fallbackModel = 'unknown'): void {
    const model = usage.model ?? fallbackModel;
    const add = (type: TokenType, n: number) => {
      if (n > 0) this.m.tokens.inc({ user, provider, model, type }, n);
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

  configLoaded(hash: string): void {
    this.m.configInfo.reset();
    this.m.configInfo.set({ hash }, 1);
  }
}
