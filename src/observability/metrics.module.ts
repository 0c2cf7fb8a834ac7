import { Global, Inject, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { Controller, Get, Res } from '@nestjs/common';
import {
  InjectMetric,
  PrometheusController,
  PrometheusModule,
  makeCounterProvider,
  makeGaugeProvider,
} from '@willsoto/nestjs-prometheus';
import { register, type Counter, type Gauge } from 'prom-client';
import { answerMetricsRequests, clusterMetrics, isGatewayWorker } from '../cluster/cluster-protocol.js';
import { GatewayConfigService } from '../config/gateway-config.service.js';
import { BoundHistogram, BoundValues, registeredMetric } from './bound-series.js';
import { GatewayMetrics, collectProcessMetrics, type PerRequestMetrics } from './gateway-metrics.js';
import { LATENCY_BUCKETS, METRIC } from './metric-names.js';

const PER_REQUEST_METRICS = Symbol('PER_REQUEST_METRICS');

/** The metrics every request updates, bound-series metrics in prom-client's default registry. */
function perRequestMetrics(): PerRequestMetrics {
  return {
    requests: registeredMetric(new BoundValues('counter', METRIC.requests, 'Requests answered, by service type and status class.', ['service_type', 'status_class'])),
    latency: registeredMetric(new BoundHistogram(METRIC.latency, 'Request duration until the response ended, in seconds.', ['service_type'], LATENCY_BUCKETS)),
    inflight: registeredMetric(new BoundValues('gauge', METRIC.inflight, 'Requests being served now.', ['service_type'])),
    firstByte: registeredMetric(
      new BoundHistogram(METRIC.firstByte, 'Time from request to the first response body byte, in seconds.', ['service_type'], LATENCY_BUCKETS),
    ),
    tokens: registeredMetric(new BoundValues('counter', METRIC.tokens, 'Tokens reported by upstreams, by user, provider, model and type.', ['user', 'provider', 'model', 'type'])),
  };
}

/**
 * Nest face of GatewayMetrics: the rare metrics come from @willsoto/nestjs-prometheus providers,
 * the per-request ones are bound-series metrics (bound-series.ts) in the same registry.
 */
@Injectable()
export class MetricsService extends GatewayMetrics implements OnModuleInit {
  constructor(
    @Inject(PER_REQUEST_METRICS) perRequest: PerRequestMetrics,
    @InjectMetric(METRIC.upstreamErrors) upstreamErrors: Counter<'service_type' | 'provider' | 'reason'>,
    @InjectMetric(METRIC.configReloads) configReloads: Counter<'result'>,
    @InjectMetric(METRIC.configInfo) configInfo: Gauge<'hash'>,
    @InjectMetric(METRIC.conversationLogDropped) conversationLogDropped: Counter,
    @InjectMetric(METRIC.rateLimited) rateLimited: Counter<'user' | 'limit'>,
    @InjectMetric(METRIC.stateStoreUp) stateStoreUp: Gauge,
    @InjectMetric(METRIC.stateStoreErrors) stateStoreErrors: Counter<'operation'>,
    @InjectMetric(METRIC.upstreamAttempts) upstreamAttempts: Counter<'service_type' | 'provider' | 'key' | 'outcome'>,
    @InjectMetric(METRIC.providerKeyAvailable) providerKeyAvailable: Gauge<'provider' | 'key'>,
    @InjectMetric(METRIC.providerKeyCooldown) providerKeyCooldown: Gauge<'provider' | 'key'>,
    @InjectMetric(METRIC.keyPoolKeys) keyPoolKeys: Gauge<'provider' | 'pool'>,
    @InjectMetric(METRIC.keyPoolAvailableKeys) keyPoolAvailableKeys: Gauge<'provider' | 'pool'>,
    private readonly config: GatewayConfigService,
  ) {
    super({
      ...perRequest,
      upstreamErrors,
      configReloads,
      configInfo,
      conversationLogDropped,
      rateLimited,
      stateStoreUp,
      stateStoreErrors,
      upstreamAttempts,
      providerKeyAvailable,
      providerKeyCooldown,
      keyPoolKeys,
      keyPoolAvailableKeys,
    });
  }

  onModuleInit(): void {
    collectProcessMetrics();
    // In a worker of `--workers`: the primary may ask for this worker's metrics from now on.
    answerMetricsRequests();
    this.initConfigReloads();
    this.configLoaded(this.config.current.hash);
    this.config.store.onReload((result) => {
      this.configReload(result.ok);
      if (result.ok) this.configLoaded(result.config.hash);
    });
  }
}

/** `/metrics`; in a worker of `--workers`, the sum over all workers (a scrape reaches any one). */
@Controller()
export class MetricsController extends PrometheusController {
  @Get()
  override async index(@Res({ passthrough: true }) response: { header(name: string, value: string): unknown }): Promise<string> {
    if (!isGatewayWorker()) return super.index(response);
    response.header('Content-Type', register.contentType);
    return clusterMetrics();
  }
}

@Global()
@Module({
  imports: [PrometheusModule.register({ path: '/metrics', defaultMetrics: { enabled: false }, controller: MetricsController })],
  providers: [
    { provide: PER_REQUEST_METRICS, useFactory: perRequestMetrics },
    makeCounterProvider({ name: METRIC.upstreamErrors, help: 'Upstream failures by reason (connect, timeout, 5xx, 429, aborted).', labelNames: ['service_type', 'provider', 'reason'] }),
    // Every worker of a replica reloads the same file: the replica's figure is one worker's, not their sum.
    makeCounterProvider({ name: METRIC.configReloads, help: 'Config reload attempts by result.', labelNames: ['result'], aggregator: 'max' }),
    makeGaugeProvider({ name: METRIC.configInfo, help: 'The config this replica runs (1 for its content hash).', labelNames: ['hash'], aggregator: 'max' }),
    makeCounterProvider({ name: METRIC.conversationLogDropped, help: 'Conversation log entries dropped because the write queue was full.' }),
    makeCounterProvider({ name: METRIC.rateLimited, help: 'Requests refused by a user limit, by user and limit (requestsPerMinute, concurrentRequests, tokensPerMinute, tokensPerDay).', labelNames: ['user', 'limit'] }),
    // A replica's store is up only when every worker reaches it.
    makeGaugeProvider({ name: METRIC.stateStoreUp, help: '1 while the state store (Redis; process memory without state.redis) answers, 0 while it does not.', aggregator: 'min' }),
    makeCounterProvider({ name: METRIC.stateStoreErrors, help: 'State store operations that failed or timed out, by operation.', labelNames: ['operation'] }),
    makeCounterProvider({
      name: METRIC.upstreamAttempts,
      help: 'Attempts of requests through a key pool, by key name and outcome: an upstream call (ok, client_error, error; failed over: rate_limited, overloaded, server_error, auth_failed, unreachable, timeout) or a key whose credentials could not be had (key_unavailable, no call).',
      labelNames: ['service_type', 'provider', 'key', 'outcome'],
    }),
    // A key is available to a replica only if every worker sees it so.
    makeGaugeProvider({ name: METRIC.providerKeyAvailable, help: '1 while a key pool member may be used, 0 while it cools down, by provider and key name.', labelNames: ['provider', 'key'], aggregator: 'min' }),
    // ... and it is free again when the last worker's cooldown ends.
    makeGaugeProvider({ name: METRIC.providerKeyCooldown, help: 'Seconds until a cooling key pool member may be used again (0 while available), by provider and key name.', labelNames: ['provider', 'key'], aggregator: 'max' }),
    makeGaugeProvider({ name: METRIC.keyPoolKeys, help: 'Member keys of a key pool, by provider and pool name.', labelNames: ['provider', 'pool'], aggregator: 'max' }),
    // The replica's figure is its worst worker's, as for piapi_provider_key_available.
    makeGaugeProvider({ name: METRIC.keyPoolAvailableKeys, help: 'Member keys of a key pool not cooling down (0: its users are refused), by provider and pool name.', labelNames: ['provider', 'pool'], aggregator: 'min' }),
    MetricsService,
  ],
  exports: [MetricsService],
})
export class MetricsModule {}
