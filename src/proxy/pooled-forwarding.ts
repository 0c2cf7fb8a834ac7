import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { AuthenticatedRequest } from '../auth/api-key.guard.js';
import type { KeyPool, Service } from '../config/gateway-config.js';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import { requestFacts } from '../observability/request-facts.js';
import { upstreamFreeAt } from '../pools/cooldown-hints.js';
import { allKeysCooling, keyFailureOf, outcomeOfError, outcomeOfStatus, type AttemptOutcome } from '../pools/failover-decision.js';
import type { KeyPools } from '../pools/key-pools.js';
import { replayPlan, type ReplayPlan } from '../pools/replay-decision.js';
import type { ProviderKeySource, ResolvedProviderKey } from '../providers/provider-key.source.js';
import { ReplayableBody } from './replayable-body.js';
import type { ForwardResponse } from './upstream-forwarder.js';

/** What an attempt sends instead of the client's request stream. */
export interface BodyToSend {
  body?: Readable | Buffer | null;
  bodyMeter?: { readonly bytes: number; readonly tooLarge: boolean };
}

/** The proxy's single-call primitives (proxy.service.ts). */
export interface UpstreamCalls {
  send(req: AuthenticatedRequest, reply: FastifyReply, service: Service, rest: string, query: string, key: ResolvedProviderKey, body?: BodyToSend): Promise<ForwardResponse>;
  answer(req: AuthenticatedRequest, reply: FastifyReply, service: Service, res: ForwardResponse): void;
}

/** Error bodies read for their cooldown hints (ChatGPT's usage_limit_reached): small, and not waited for long. */
const HINT_BODY_BYTES = 64 * 1024;
const HINT_BODY_WAIT_MS = 1_000;

/**
 * A pass-through request of a user bound to a key pool: sent with the pool's next available
 * key; on a failover status or a connection failure before response headers, and while nothing
 * has gone to the client, sent again with the next key (each at most once), the body replayed
 * from its copy (replayable-body.ts). The last key's answer goes to the client as it is. With
 * every key cooling down: 429 with the soonest key's `retry-after`, and no upstream call.
 */
export class PooledForwarding {
  constructor(
    private readonly calls: UpstreamCalls,
    private readonly keys: ProviderKeySource,
    private readonly pools: KeyPools,
    private readonly metrics: GatewayMetrics,
  ) {}

  async forward(req: AuthenticatedRequest, reply: FastifyReply, pool: KeyPool, service: Service, rest: string, query: string): Promise<void> {
    const config = req.config;
    const http = config.http;
    const declared = req.headers['content-length'];
    // Refused before a key is chosen, as the forwarder would.
    if (declared !== undefined && Number(declared) > http.maxBodyBytes) {
      throw new GatewayError(ErrorCode.PayloadTooLarge, `Request body exceeds the limit of ${http.maxBodyBytes} bytes`);
    }
    const beginning = this.pools.begin(config, pool, req.caller.name);
    const attempts = beginning instanceof Promise ? await beginning : beginning;
    const plan = replayPlan(declared, req.headers['transfer-encoding'], http.replayBodyBytes);
    const facts = requestFacts(req.raw);
    const body = new AttemptBodies(req, plan, http.replayBodyBytes, http.maxBodyBytes);
    let count = 0;
    for (;;) {
      const index = attempts.next(Date.now());
      if (index === undefined) throw allKeysCooling(pool, attempts, Date.now());
      const key = pool.keys[index];
      count++;
      facts.providerKey = key.name;
      facts.attempts = count;
      let resolved: ResolvedProviderKey;
      try {
        const resolving = this.keys.resolve(key);
        resolved = resolving instanceof Promise ? await resolving : resolving;
      } catch (err) {
        // An OAuth member whose refresh failed: the others refresh on their own.
        this.attempted(service, pool, key.name, 'key_unavailable');
        await this.pools.failed(config, pool, attempts, index, 'failing', undefined);
        if (!attempts.hasNext(Date.now()) || reply.raw.destroyed) throw err;
        continue;
      }
      let res: ForwardResponse;
      try {
        res = await this.calls.send(req, reply, service, rest, query, resolved, body.next());
      } catch (err) {
        const failure = err as GatewayError;
        const outcome = outcomeOfError(failure);
        if (outcome === undefined || reply.raw.destroyed) throw failure;
        this.attempted(service, pool, key.name, outcome);
        await this.pools.failed(config, pool, attempts, index, 'failing', undefined);
        if (!attempts.hasNext(Date.now()) || !(await body.replayable())) throw failure;
        continue;
      }
      const outcome = outcomeOfStatus(res.status);
      this.attempted(service, pool, key.name, outcome);
      const failure = keyFailureOf(outcome);
      if (failure === undefined) {
        if (outcome === 'ok') this.pools.succeeded(config, pool, attempts, index);
        this.calls.answer(req, reply, service, res);
        return;
      }
      const retry = attempts.hasNext(Date.now()) && (await body.replayable());
      if (reply.raw.destroyed) {
        res.discard();
        return;
      }
      if (!retry) {
        await this.pools.failed(config, pool, attempts, index, failure, upstreamFreeAt(res.upstreamHeaders, undefined, Date.now()));
        this.calls.answer(req, reply, service, res);
        return;
      }
      const text = failure === 'limited' && res.contentType.includes('json') ? await res.readText(HINT_BODY_BYTES, HINT_BODY_WAIT_MS) : undefined;
      res.discard();
      // Counted as the answers the client gets are (proxy.service.ts), though this one is not passed on.
      if (res.status >= 500) this.metrics.upstreamError(service.type, pool.provider, '5xx');
      else if (res.status === 429) this.metrics.upstreamError(service.type, pool.provider, '429');
      await this.pools.failed(config, pool, attempts, index, failure, upstreamFreeAt(res.upstreamHeaders, text, Date.now()));
      if (reply.raw.destroyed) return;
    }
  }

  private attempted(service: Service, pool: KeyPool, key: string, outcome: AttemptOutcome): void {
    this.metrics.upstreamAttempt(service.type, pool.provider, key, outcome);
  }
}

/**
 * The body of each attempt: the client's stream for the first one sent (copied while it
 * streams when the plan says so), the copy for the next ones.
 */
class AttemptBodies {
  private copy: ReplayableBody | undefined;
  private sent = false;

  constructor(
    private readonly req: AuthenticatedRequest,
    private readonly plan: ReplayPlan,
    private readonly replayLimit: number,
    private readonly maxBodyBytes: number,
  ) {}

  next(): BodyToSend | undefined {
    const first = !this.sent;
    this.sent = true;
    switch (this.plan) {
      case 'no_body':
        return first ? undefined : { body: null };
      case 'too_large':
        // Never copied: only the first attempt has a body to send.
        return undefined;
      case 'copy': {
        if (first) {
          this.copy = new ReplayableBody(this.req.raw, this.replayLimit, this.maxBodyBytes);
          return { body: this.copy.stream(), bodyMeter: this.copy };
        }
        const copy = this.copy as ReplayableBody;
        return { body: copy.replay(), bodyMeter: copy };
      }
    }
  }

  /** Whether the next attempt can have the body: waits until the client has sent it whole. */
  replayable(): boolean | Promise<boolean> {
    if (!this.sent || this.plan === 'no_body') return true;
    if (this.plan === 'too_large' || !this.copy) return false;
    return this.copy.settled();
  }
}
