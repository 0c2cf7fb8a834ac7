import type { AssistantMessageEvent } from '@mariozechner/pi-ai';
import type { GatewayConfig, KeyPool, User } from '../config/gateway-config.js';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { RequestFacts } from '../observability/request-facts.js';
import { upstreamFreeAt } from '../pools/cooldown-hints.js';
import { allKeysCooling, keyFailureOf, outcomeOfTranslatedFailure, type AttemptOutcome } from '../pools/failover-decision.js';
import type { KeyAttempts } from '../pools/key-attempts.js';
import type { KeyPools } from '../pools/key-pools.js';
import type { ProviderKeySource, ResolvedProviderKey } from '../providers/provider-key.source.js';
import { upstreamErrorToGatewayError, upstreamStatus } from './anthropic/upstream-error.js';
import type { UpstreamCall } from './pi-upstream.js';

export interface KeyedUpstreamParts {
  keys: ProviderKeySource;
  pools: KeyPools;
  metrics: Pick<GatewayMetrics, 'upstreamAttempt' | 'upstreamError'>;
}

export interface KeyedUpstreamRequest {
  config: GatewayConfig;
  user: User;
  /** `messages` or `responses`: the metrics' `service_type`. */
  serviceType: string;
  facts: RequestFacts;
  /** The client going away: no further key is tried. */
  signal: AbortSignal;
  /** One upstream call with a key's secret (pi-upstream.ts's callUpstream). */
  call: (apiKey: string) => UpstreamCall;
}

/**
 * The upstream call of a translated route (`/v1/messages`, `/v1/responses`) with the caller's
 * key, or, for a user bound to a key pool, with the pool's keys in turn: an attempt whose
 * stream fails before its first output (429, 529, 5xx, 401/403, a connection failure or a
 * timeout) is dropped, the key cooled down, and the same request sent with the next available
 * key. Nothing has reached the client by then: the translated routes send their response
 * head only with the first output (or keep-alive comments, which carry no answer). The last
 * key's failure goes to the client as it is. Rejects, before any upstream call, with a 429
 * whose `retry-after` is the soonest key's end of cooldown when every key is cooling down.
 */
export async function keyedUpstream(parts: KeyedUpstreamParts, req: KeyedUpstreamRequest): Promise<UpstreamCall> {
  const pool = req.user.pool;
  if (!pool) {
    req.facts.providerKey = req.user.key.name;
    req.facts.attempts = 1;
    const resolving = parts.keys.resolve(req.user.key);
    return req.call((resolving instanceof Promise ? await resolving : resolving).secret);
  }
  const failover = new PoolFailover(parts, req, pool);
  await failover.begin();
  return failover.upstream();
}

interface Attempt {
  index: number;
  call: UpstreamCall;
}

class PoolFailover {
  private attempts!: KeyAttempts;
  private current!: Attempt;
  private count = 0;
  /** The failure of the attempt dropped last: the client's answer when no key is left after it. */
  private lastFailure: AssistantMessageEvent | undefined;

  constructor(
    private readonly parts: KeyedUpstreamParts,
    private readonly req: KeyedUpstreamRequest,
    private readonly pool: KeyPool,
  ) {}

  async begin(): Promise<void> {
    const beginning = this.parts.pools.begin(this.req.config, this.pool, this.req.user.name);
    this.attempts = beginning instanceof Promise ? await beginning : beginning;
    const first = await this.nextAttempt();
    if (first instanceof Error) throw first;
    this.current = first;
  }

  upstream(): UpstreamCall {
    return {
      events: this.events(),
      observedStatus: () => this.current.call.observedStatus(),
      retryAfterSeconds: (status) => this.current.call.retryAfterSeconds(status),
      errorHeaders: (status) => this.current.call.errorHeaders(status),
      errorText: () => this.current.call.errorText(),
    };
  }

  /**
   * The next available key, resolved and called; an OAuth member whose refresh fails counts as
   * a failed attempt and the one after it is tried. An Error when no key is left: the 429 of a
   * pool cooling down, or the last resolution failure.
   */
  private async nextAttempt(): Promise<Attempt | Error> {
    for (;;) {
      const index = this.attempts.next(Date.now());
      if (index === undefined) return allKeysCooling(this.pool, this.attempts, Date.now());
      const key = this.pool.keys[index];
      this.count++;
      this.req.facts.providerKey = key.name;
      this.req.facts.attempts = this.count;
      let resolved: ResolvedProviderKey;
      try {
        const resolving = this.parts.keys.resolve(key);
        resolved = resolving instanceof Promise ? await resolving : resolving;
      } catch (err) {
        this.attempted(index, 'key_unavailable');
        await this.parts.pools.failed(this.req.config, this.pool, this.attempts, index, 'failing', undefined);
        if (!this.attempts.hasNext(Date.now()) || this.req.signal.aborted) return err instanceof Error ? err : new Error(String(err));
        continue;
      }
      return { index, call: this.req.call(resolved.secret) };
    }
  }

  private async *events(): AsyncGenerator<AssistantMessageEvent> {
    for (;;) {
      const attempt = this.current;
      // `start` says only that the upstream answered 200: held until the stream shows whether it answers.
      const held: AssistantMessageEvent[] = [];
      let decided = false;
      let retry = false;
      for await (const event of attempt.call.events) {
        if (decided) {
          yield event;
          continue;
        }
        if (event.type === 'start') {
          held.push(event);
          continue;
        }
        decided = true;
        if (event.type === 'error' && !this.req.signal.aborted) retry = await this.failed(attempt, event);
        else if (event.type !== 'error') this.answered(attempt);
        // Leaving the loop closes the dropped attempt's stream (and its upstream request).
        if (retry) break;
        yield* held;
        yield event;
      }
      if (!retry) {
        if (!decided) yield* held;
        return;
      }
      const next = await this.nextAttempt();
      if (next instanceof Error) {
        // Every other key cooled down or failed meanwhile: the failure the client gets is this one.
        yield* held;
        yield this.lastFailure as AssistantMessageEvent;
        return;
      }
      this.current = next;
    }
  }

  /** Books a failed attempt; true when the request moves on to another key. */
  private async failed(attempt: Attempt, event: Extract<AssistantMessageEvent, { type: 'error' }>): Promise<boolean> {
    const observed = attempt.call.observedStatus();
    const error = upstreamErrorToGatewayError(event.error, observed);
    const status = upstreamStatus(event.error, observed);
    const outcome = outcomeOfTranslatedFailure(status, error);
    this.attempted(attempt.index, outcome);
    const failure = keyFailureOf(outcome);
    if (failure === undefined) return false;
    const now = Date.now();
    const body = attempt.call.errorText() ?? errorBody(event.error.errorMessage);
    const freeAt = upstreamFreeAt(attempt.call.errorHeaders(status) ?? {}, body, now);
    await this.parts.pools.failed(this.req.config, this.pool, this.attempts, attempt.index, failure, freeAt);
    if (!this.attempts.hasNext(Date.now()) || this.req.signal.aborted) return false;
    // Counted as the failures the client gets are (the route's own observer), though this one is not passed on.
    if (error.status === 429) this.parts.metrics.upstreamError(this.req.serviceType, this.pool.provider, '429');
    else if (outcome === 'timeout') this.parts.metrics.upstreamError(this.req.serviceType, this.pool.provider, 'timeout');
    else if (outcome === 'unreachable') this.parts.metrics.upstreamError(this.req.serviceType, this.pool.provider, 'connect');
    else if (error.status >= 500) this.parts.metrics.upstreamError(this.req.serviceType, this.pool.provider, '5xx');
    this.lastFailure = event;
    return true;
  }

  private answered(attempt: Attempt): void {
    this.attempted(attempt.index, 'ok');
    this.parts.pools.succeeded(this.req.config, this.pool, this.attempts, attempt.index);
  }

  private attempted(index: number, outcome: AttemptOutcome): void {
    this.parts.metrics.upstreamAttempt(this.req.serviceType, this.pool.provider, this.pool.keys[index].name, outcome);
  }
}

/** pi-ai's SDK providers put the status before the upstream's body (`429 {"error":...}`): the body, for its hints. */
function errorBody(message: string | undefined): string | undefined {
  if (message === undefined) return undefined;
  return message.replace(/^\d{3}\s+/, '');
}
