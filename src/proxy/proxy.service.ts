import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { AuthenticatedRequest } from '../auth/api-key.guard.js';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import { requestFacts } from '../observability/request-facts.js';
import { accountTokens } from '../limits/token-accounting.js';
import { PROVIDER_KEY_SOURCE, type ProviderKeySource, type ResolvedProviderKey } from '../providers/provider-key.source.js';
import type { Service } from '../config/gateway-config.js';
import { KeyPoolService } from '../pools/pools.module.js';
import { MetricsService } from '../observability/metrics.module.js';
import type { UpstreamErrorReason } from '../observability/metric-names.js';
import { UsageTap } from '../observability/usage-tap.js';
import { hijackWithHead } from '../http/hijacked-head.js';
import { PooledForwarding, type BodyToSend } from './pooled-forwarding.js';
import { UpstreamForwarder, upstreamFailure, type ForwardResponse } from './upstream-forwarder.js';
import { checkRestPath, splitProxyUrl } from './upstream-url.js';

/** `/piapi/<service_type>/<rest>` → the caller's provider's service of that type. */
@Injectable()
export class ProxyService implements OnModuleDestroy {
  readonly forwarder = new UpstreamForwarder();
  private readonly pooled: PooledForwarding;

  constructor(
    @Inject(PROVIDER_KEY_SOURCE) private readonly keys: ProviderKeySource,
    private readonly metrics: MetricsService,
    pools: KeyPoolService,
  ) {
    this.pooled = new PooledForwarding(this, keys, pools, metrics);
  }

  async handle(req: AuthenticatedRequest, reply: FastifyReply): Promise<void> {
    const parts = splitProxyUrl(req.raw.url ?? '');
    if (!parts) throw new GatewayError(ErrorCode.NotFound, 'Not found');
    const facts = requestFacts(req.raw);
    const provider = req.caller.provider;
    const service = provider.services.get(parts.serviceType);
    if (!service) {
      throw new GatewayError(
        ErrorCode.NotFound,
        `Provider "${provider.name}" has no service of type "${parts.serviceType}"`,
      );
    }
    facts.serviceType = service.type;
    const rest = checkRestPath(parts.rest);
    if (req.caller.pool) return this.pooled.forward(req, reply, req.caller.pool, service, rest, parts.query);
    facts.providerKey = req.caller.key.name;
    facts.attempts = 1;
    const resolving = this.keys.resolve(req.caller.key);
    // Static keys resolve at once: no await (and its microtask) for them.
    const key = resolving instanceof Promise ? await resolving : resolving;
    const res = await this.send(req, reply, service, rest, parts.query, key);
    this.answer(req, reply, service, res);
  }

  /** One upstream call with `key`; rejects with a GatewayError before response headers. */
  send(req: AuthenticatedRequest, reply: FastifyReply, service: Service, rest: string, query: string, key: ResolvedProviderKey, body?: BodyToSend): Promise<ForwardResponse> {
    const facts = requestFacts(req.raw);
    const provider = req.caller.provider;
    let clientGone = false;
    const metrics = this.metrics;
    const started = performance.now();
    return this.forwarder
      .forward({
        req: req.raw,
        res: reply.raw,
        requestId: String(req.id),
        service,
        rest,
        query,
        providerKey: key.secret,
        keyHeaders: key.headers,
        http: req.config.http,
        ...body,
        onClientGone: () => {
          clientGone = true;
          facts.outcome ??= 'client_closed';
        },
        onFirstByte: () => metrics.firstByte(service.type, (performance.now() - started) / 1e3),
        onStreamError: (failure) => metrics.upstreamError(service.type, provider.name, errorReason(failure, clientGone)),
      })
      .catch((err: unknown) => {
        const failure = err instanceof GatewayError ? err : upstreamFailure(err);
        if (failure.code !== ErrorCode.PayloadTooLarge) {
          metrics.upstreamError(service.type, provider.name, errorReason(failure, clientGone));
        }
        throw failure;
      });
  }

  /** Streams an upstream response to the client (its status can no longer change). */
  answer(req: AuthenticatedRequest, reply: FastifyReply, service: Service, res: ForwardResponse): void {
    const metrics = this.metrics;
    const provider = req.caller.provider;
    requestFacts(req.raw).meter = res;
    if (res.status >= 500) metrics.upstreamError(service.type, provider.name, '5xx');
    else if (res.status === 429) metrics.upstreamError(service.type, provider.name, '429');
    const tap = UsageTap.wants(res.contentType) ? new UsageTap(res.contentType) : undefined;
    // Written by hand, not with reply.send(stream): the same bytes without Fastify's send path
    // and an extra stream between the upstream body and the socket.
    hijackWithHead(reply, res.status, res.headers);
    res.pipeTo(
      tap && {
        tap: (chunk) => tap.push(chunk),
        onEnd: () => {
          const usage = tap.result();
          if (usage) accountTokens(metrics, req.admission, req.caller.name, provider.name, usage);
        },
      },
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.forwarder.close();
  }
}

function errorReason(failure: GatewayError, clientGone: boolean): UpstreamErrorReason {
  if (clientGone) return 'aborted';
  switch (failure.code) {
    case ErrorCode.UpstreamTimeout:
    case ErrorCode.UpstreamIdle:
      return 'timeout';
    case ErrorCode.RateLimited:
      return '429';
    default:
      return 'connect';
  }
}
