import { Global, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { Controller, Get, Res } from '@nestjs/common';
import {
  InjectMetric,
  PrometheusController,
  PrometheusModule,
  makeCounterProvider,
  makeGaugeProvider,
  makeHistogramProvider,
} from '@willsoto/nestjs-prometheus';
import { register, type Counter, type Gauge, type Histogram } from 'prom-client';
import { answerMetricsRequests, clusterMetrics, isGatewayWorker } from '../cluster/cluster-protocol.js';
import { GatewayConfigService } from '../config/gateway-config.service.js';
import { GatewayMetrics, collectProcessMetrics } from './gateway-metrics.js';
import { LATENCY_BUCKETS, METRIC } from './metric-names.js';

/** Nest face of GatewayMetrics: metric objects come from @willsoto/nestjs-prometheus providers. */
@Injectable()
export class MetricsService extends GatewayMetrics implements OnModuleInit {
  constructor(
    @InjectMetric(METRIC.requests) requests: Counter<'service_type' | 'status_class'>,
    @InjectMetric(METRIC.latency) latency: Histogram<'service_type'>,
    @InjectMetric(METRIC.inflight) inflight: Gauge<'service_type'>,
    @InjectMetric(METRIC.firstByte) firstByte: Histogram<'service_type'>,
    @InjectMetric(METRIC.upstreamErrors) upstreamErrors: Counter<'service_type' | 'provider' | 'reason'>,
    @InjectMetric(METRIC.tokens) tokens: Counter<'user' | 'provider' | 'model' | 'type'>,
    @InjectMetric(METRIC.configReloads) configReloads: Counter<'result'>,
    @InjectMetric(METRIC.configInfo) configInfo: Gauge<'hash'>,
    @InjectMetric(METRIC.conversationLogDropped) conversationLogDropped: Counter,
    private readonly config: GatewayConfigService,
  ) {
    super({ requests, latency, inflight, firstByte, upstreamErrors, tokens, configReloads, configInfo, conversationLogDropped });
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
    makeCounterProvider({ name: METRIC.requests, help: 'Requests answered, by service type and status class.', labelNames: ['service_type', 'status_class'] }),
    makeHistogramProvider({ name: METRIC.latency, help: 'Request duration until the response ended, in seconds.', labelNames: ['service_type'], buckets: LATENCY_BUCKETS }),
    makeGaugeProvider({ name: METRIC.inflight, help: 'Requests being served now.', labelNames: ['service_type'] }),
    makeHistogramProvider({ name: METRIC.firstByte, help: 'Time from request to the first response body byte, in seconds.', labelNames: ['service_type'], buckets: LATENCY_BUCKETS }),
    makeCounterProvider({ name: METRIC.upstreamErrors, help: 'Upstream failures by reason (connect, timeout, 5xx, 429, aborted).', labelNames: ['service_type', 'provider', 'reason'] }),
    makeCounterProvider({ name: METRIC.tokens, help: 'Tokens reported by upstreams, by user, provider, model and type.', labelNames: ['user', 'provider', 'model', 'type'] }),
    // Every worker of a replica reloads the same file: the replica's figure is one worker's, not their sum.
    makeCounterProvider({ name: METRIC.configReloads, help: 'Config reload attempts by result.', labelNames: ['result'], aggregator: 'max' }),
    makeGaugeProvider({ name: METRIC.configInfo, help: 'The config this replica runs (1 for its content hash).', labelNames: ['hash'], aggregator: 'max' }),
    makeCounterProvider({ name: METRIC.conversationLogDropped, help: 'Conversation log entries dropped because the write queue was full.' }),
    MetricsService,
  ],
  exports: [MetricsService],
})
export class MetricsModule {}
