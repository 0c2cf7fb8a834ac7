import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { getModels, getProviders, type Api, type AssistantMessageEvent, type KnownProvider, type Model } from '@mariozechner/pi-ai';
import type { FastifyReply } from 'fastify';
import type { AuthenticatedRequest } from '../auth/api-key.guard.js';
import type { GatewayConfig, Provider, User } from '../config/gateway-config.js';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import { hijackWithHead } from '../http/hijacked-head.js';
import { accountTokens } from '../limits/token-accounting.js';
import type { Admission } from '../limits/user-limiter.js';
import { MetricsService } from '../observability/metrics.module.js';
import { requestFacts } from '../observability/request-facts.js';
import { PROVIDER_KEY_SOURCE, type ProviderKeySource } from '../providers/provider-key.source.js';
import type { AnthropicRequest } from './anthropic/anthropic-request.js';
import { AnthropicEventTranscoder, type TranscoderOptions } from './anthropic/event-transcoder.js';
import { AnthropicMessageAggregator } from './anthropic/message-aggregator.js';
import { requestToContext } from './anthropic/request-to-context.js';
import { validateCountTokensRequest, validateMessagesRequest } from './anthropic/request-validation.js';
import { encodeSseEvent, encodeSseEvents } from './anthropic/sse-encoder.js';
import { countTokens } from './anthropic/token-count.js';
import { anthropicErrorBody, upstreamErrorToGatewayError } from './anthropic/upstream-error.js';
import { ConversationLogs } from './conversation-logs.js';
import { fitsDepth, readJsonBody } from './json-body.js';
import { RepeatedMemberParser } from './repeated-members.js';
import { modelAliases, resolveModel } from './models/model-map.js';
import { buildPiModel } from './models/pi-model-factory.js';
import { SseResponse } from './sse-response.js';
import { keyedUpstream, type KeyedUpstreamParts } from './keyed-upstream.js';
import { KeyPoolService } from '../pools/pools.module.js';
import { callUpstream, llmProvider, upstreamErrorReason, usageOf, withRetryAfter } from './pi-upstream.js';

/** Silence after which an SSE stream gets a keep-alive (Anthropic sends `ping` events too). */
function pingEveryMs(): number {
  return Number(process.env.PIAPI_SSE_PING_MS ?? 10_000) || 10_000;
}
const PING_FRAME = encodeSseEvent({ type: 'ping' });

interface Call {
  request: AnthropicRequest;
  user: User;
  admission: Admission | undefined;
  provider: Provider;
  model: Model<Api>;
  responseModel: string;
  events: AsyncIterable<AssistantMessageEvent>;
  /** The upstream error response's `retry-after`, for a failure answered before the stream starts. */
  retryAfterSeconds: (status?: number) => number | undefined;
  transcoder: TranscoderOptions;
}

/** `/v1/messages`, `/v1/messages/count_tokens` and `/v1/models` on the caller's provider through pi-ai. */
@Injectable()
export class MessagesService implements OnModuleDestroy {
  /** Claude Code sends the same tools and system prompt with every turn: parsed once (repeated-members.ts). */
  private readonly members = new RepeatedMemberParser(new Set(['tools', 'system']), fitsDepth);

  private readonly upstreamParts: KeyedUpstreamParts;

  constructor(
    @Inject(PROVIDER_KEY_SOURCE) keys: ProviderKeySource,
    private readonly metrics: MetricsService,
    private readonly conversations: ConversationLogs,
    pools: KeyPoolService,
  ) {
    this.upstreamParts = { keys, pools, metrics };
  }

  async messages(req: AuthenticatedRequest, reply: FastifyReply): Promise<void> {
    const request = validateMessagesRequest(await readJsonBody(req.raw, req.config.http.maxBodyBytes, this.members));
    const abort = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    const call = await this.start(req, request, abort.signal);
    const conversation = this.conversations.for(req.config);
    const record = conversation ? new AnthropicMessageAggregator(call.transcoder) : undefined;
    const observe = (event: AssistantMessageEvent) => {
      record?.push(event);
      this.observe(call, event, abort.signal);
    };
    let outcome: unknown;
    try {
      if (request.stream) await this.stream(call, reply, observe, abort.signal);
      else await this.single(call, reply, observe);
    } catch (err) {
      // Claude Code waits as long as a 429 or 503 says before it retries.
      throw err instanceof GatewayError ? withRetryAfter(err, call.retryAfterSeconds(err.status)) : err;
    } finally {
      if (conversation && record) {
        try {
          outcome = record.result();
        } catch (err) {
          outcome = { error: err instanceof Error ? err.message : String(err) };
        }
        conversation.log({
          time: new Date().toISOString(),
          request_id: String(req.id),
          user: req.caller.name,
          provider: call.provider.name,
          model: call.model.id,
          request,
          response: outcome,
        });
        this.metrics.conversationLogDropped(conversation.dropped);
      }
    }
  }

  async countTokens(req: AuthenticatedRequest): Promise<{ input_tokens: number }> {
    const request = validateCountTokensRequest(await readJsonBody(req.raw, req.config.http.maxBodyBytes, this.members));
    const provider = llmProvider(req.caller);
    const resolved = resolveModel(req.config, provider, request);
    return { input_tokens: await countTokens(request, buildPiModel(provider, resolved.targetModel)) };
  }

  models(req: AuthenticatedRequest, query: { limit?: string; after_id?: string; before_id?: string }): unknown {
    const provider = req.caller.provider;
    const ids = new Map<string, string>();
    for (const alias of modelAliases(req.config, provider.name)) ids.set(alias.id, alias.id);
    for (const model of registryModels(provider)) if (!ids.has(model.id)) ids.set(model.id, model.name);
    // The OpenAI SDK (`models.list()`) and Codex send a bearer key and no anthropic-version.
    if (wantsOpenAiList(req.headers)) {
      return { object: 'list', data: [...ids.keys()].map((id) => ({ id, object: 'model', created: 0, owned_by: provider.name })) };
    }
    let all = [...ids].map(([id, name]) => ({ type: 'model', id, display_name: name, created_at: '1970-01-01T00:00:00Z' }));
    if (query.after_id) all = all.slice(all.findIndex((m) => m.id === query.after_id) + 1);
    if (query.before_id) {
      const end = all.findIndex((m) => m.id === query.before_id);
      if (end >= 0) all = all.slice(0, end);
    }
    const limit = Math.min(Math.max(Number(query.limit ?? 1000) || 1000, 1), 1000);
    const data = all.slice(0, limit);
    return { data, has_more: all.length > limit, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
  }

  async onModuleDestroy(): Promise<void> {
    await this.conversations.close();
  }

  private async start(req: AuthenticatedRequest, request: AnthropicRequest, signal: AbortSignal): Promise<Call> {
    const config: GatewayConfig = req.config;
    const user = req.caller;
    const provider = llmProvider(user);
    const resolved = resolveModel(config, provider, request);
    const facts = requestFacts(req.raw);
    facts.serviceType = 'messages';
    facts.model = resolved.targetModel;
    const model = buildPiModel(provider, resolved.targetModel);
    const { context, options, emitThinking } = requestToContext(request, { model, reasoning: resolved.reasoning });
    const sessionId = req.headers['x-claude-code-session-id'];
    const upstream = await keyedUpstream(this.upstreamParts, {
      config,
      user,
      serviceType: 'messages',
      facts,
      signal,
      call: (apiKey) =>
        callUpstream({
          config,
          provider,
          model,
          context,
          // A pool's next key is a better retry than the SDK's own on a limited key.
          options: user.pool ? { ...options, maxRetries: 0 } : options,
          apiKey,
          signal,
          ...(typeof sessionId === 'string' ? { sessionId } : {}),
        }),
    });
    return {
      request,
      user,
      admission: req.admission,
      provider,
      model,
      responseModel: resolved.responseModel,
      events: upstream.events,
      retryAfterSeconds: upstream.retryAfterSeconds,
      transcoder: { model: resolved.responseModel, emitThinking, observedStatus: upstream.observedStatus },
    };
  }

  /**
   * Streams Anthropic SSE. Headers wait for the first output, so an upstream failing before it
   * answers with a real HTTP status; after a long silence the stream opens anyway (with SSE
   * comments as keep-alives) and a later failure becomes an `error` event.
   */
  private async stream(call: Call, reply: FastifyReply, observe: (e: AssistantMessageEvent) => void, signal: AbortSignal): Promise<void> {
    const transcoder = new AnthropicEventTranscoder(call.transcoder);
    let sse: SseResponse | undefined;
    const started = performance.now();
    const pingMs = pingEveryMs();
    const open = (): SseResponse => {
      if (sse) return sse;
      // Written straight to the socket's response, not through a stream Fastify pipes.
      hijackWithHead(reply, 200, ['content-type', 'text/event-stream; charset=utf-8', 'cache-control', 'no-cache']);
      sse = new SseResponse(pingMs, () => (transcoder.started ? PING_FRAME : ': ping\n\n'), reply.raw);
      return sse;
    };
    const early = setTimeout(open, pingMs);
    try {
      for await (const event of call.events) {
        observe(event);
        const out = transcoder.push(event);
        if (transcoder.failure) break;
        if (out.length > 0) {
          const first = !sse;
          await open().write(encodeSseEvents(out));
          if (first) this.metrics.firstByte('messages', (performance.now() - started) / 1e3);
        }
        if (transcoder.finished || signal.aborted) break;
      }
    } catch (err) {
      if (!sse) throw upstreamErrorToGatewayError({ stopReason: 'error', errorMessage: err instanceof Error ? err.message : String(err) });
      sse.end(encodeSseEvent({ type: 'error', error: anthropicErrorBody(new GatewayError(ErrorCode.UpstreamError, 'Upstream stream failed')) }));
      return;
    } finally {
      clearTimeout(early);
    }
    const tail = transcoder.end();
    const failure = transcoder.failure;
    if (failure && !sse) throw failure;
    if (failure) {
      // Only keep-alive comments went out: the client still needs an error it can parse.
      sse?.end(encodeSseEvent({ type: 'error', error: anthropicErrorBody(failure) }));
      return;
    }
    open().end(encodeSseEvents(tail));
  }

  private async single(call: Call, reply: FastifyReply, observe: (e: AssistantMessageEvent) => void): Promise<void> {
    const aggregator = new AnthropicMessageAggregator(call.transcoder);
    for await (const event of call.events) {
      observe(event);
      aggregator.push(event);
    }
    const message = aggregator.result();
    await reply.code(200).header('content-type', 'application/json').send(JSON.stringify(message));
  }

  /** Token usage and upstream failures, for metrics. */
  private observe(call: Call, event: AssistantMessageEvent, signal: AbortSignal): void {
    if (event.type === 'done') {
      accountTokens(this.metrics, call.admission, call.user.name, call.provider.name, usageOf(event.message.usage), call.model.id);
    } else if (event.type === 'error') {
      if (event.error.usage) accountTokens(this.metrics, call.admission, call.user.name, call.provider.name, usageOf(event.error.usage), call.model.id);
      const reason = signal.aborted ? 'aborted' : upstreamErrorReason(upstreamErrorToGatewayError(event.error, call.transcoder.observedStatus?.()));
      if (reason) this.metrics.upstreamError('messages', call.provider.name, reason);
    }
  }
}

function registryModels(provider: Provider): Model<Api>[] {
  const id = provider.llm?.provider;
  if (!id || !(getProviders() as string[]).includes(id)) return [];
  return getModels(id as KnownProvider);
}

/** A request of OpenAI's shape: `Authorization: Bearer` and no `anthropic-version` (Anthropic clients always send one). */
function wantsOpenAiList(headers: AuthenticatedRequest['headers']): boolean {
  return headers['anthropic-version'] === undefined && /^bearer /i.test(String(headers.authorization ?? ''));
}
