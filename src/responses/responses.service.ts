import { Inject, Injectable } from '@nestjs/common';
import type { AssistantMessageEvent } from '@mariozechner/pi-ai';
import type { FastifyReply } from 'fastify';
import type { AuthenticatedRequest } from '../auth/api-key.guard.js';
import { hijackWithHead } from '../http/hijacked-head.js';
import { accountTokens } from '../limits/token-accounting.js';
import { upstreamErrorToGatewayError } from '../messages/anthropic/upstream-error.js';
import { ConversationLogs } from '../messages/conversation-logs.js';
import { fitsDepth, readJsonBody } from '../messages/json-body.js';
import { resolveModel } from '../messages/models/model-map.js';
import { buildPiModel } from '../messages/models/pi-model-factory.js';
import { GatewayError } from '../errors/gateway-error.js';
import { callUpstream, llmProvider, upstreamErrorReason, usageOf, withRetryAfter } from '../messages/pi-upstream.js';
import { keyedUpstream, type KeyedUpstreamParts } from '../messages/keyed-upstream.js';
import { KeyPoolService } from '../pools/pools.module.js';
import { RepeatedMemberParser } from '../messages/repeated-members.js';
import { SseResponse } from '../messages/sse-response.js';
import { MetricsService } from '../observability/metrics.module.js';
import { requestFacts } from '../observability/request-facts.js';
import { PROVIDER_KEY_SOURCE, type ProviderKeySource } from '../providers/provider-key.source.js';
import { effortSource, responsesToContext } from './request-to-context.js';
import { ResponsesEventEncoder, type ResponseObject } from './response-encoder.js';
import { validateResponsesRequest } from './responses-request.js';
import { encodeResponsesEvents } from './responses-sse.js';

/** Silence after which an SSE stream gets a keep-alive comment. */
function pingEveryMs(): number {
  return Number(process.env.PIAPI_SSE_PING_MS ?? 10_000) || 10_000;
}

/** `POST /v1/responses` (the OpenAI Responses API, as Codex speaks it) on the caller's provider through pi-ai. */
@Injectable()
export class ResponsesService {
  /** Codex sends the same tools and instructions with every turn: parsed once (repeated-members.ts). */
  private readonly members = new RepeatedMemberParser(new Set(['tools', 'instructions']), fitsDepth);

  private readonly upstreamParts: KeyedUpstreamParts;

  constructor(
    @Inject(PROVIDER_KEY_SOURCE) keys: ProviderKeySource,
    private readonly metrics: MetricsService,
    private readonly conversations: ConversationLogs,
    pools: KeyPoolService,
  ) {
    this.upstreamParts = { keys, pools, metrics };
  }

  async create(req: AuthenticatedRequest, reply: FastifyReply): Promise<void> {
    const body = await readJsonBody(req.raw, req.config.http.maxBodyBytes, this.members);
    const request = validateResponsesRequest(body);
    const abort = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    const user = req.caller;
    const provider = llmProvider(user);
    const resolved = resolveModel(req.config, provider, effortSource(request));
    const facts = requestFacts(req.raw);
    facts.serviceType = 'responses';
    facts.model = resolved.targetModel;
    const model = buildPiModel(provider, resolved.targetModel);
    const pi = responsesToContext(request, { model, reasoning: resolved.reasoning });
    const sessionHeader = req.headers['session-id'];
    const upstream = await keyedUpstream(this.upstreamParts, {
      config: req.config,
      user,
      serviceType: 'responses',
      facts,
      signal: abort.signal,
      call: (apiKey) =>
        callUpstream({
          config: req.config,
          provider,
          model,
          context: pi.context,
          // Codex retries 429s and 5xx itself, honouring retry-after: it gets them as they come.
          options: { ...pi.options, maxRetries: 0 },
          apiKey,
          signal: abort.signal,
          ...(request.prompt_cache_key === undefined && typeof sessionHeader === 'string' ? { sessionId: sessionHeader } : {}),
        }),
    });
    const encoder = new ResponsesEventEncoder({
      model: resolved.responseModel,
      request,
      echoTools: (body as { tools?: unknown[] }).tools ?? [],
      tools: pi.tools,
      emitSummary: pi.emitSummary,
      emitEncrypted: pi.emitEncrypted,
      observedStatus: upstream.observedStatus,
    });
    const observe = (event: AssistantMessageEvent): void => {
      if (event.type === 'done') {
        accountTokens(this.metrics, req.admission, user.name, provider.name, usageOf(event.message.usage), model.id);
      } else if (event.type === 'error') {
        if (event.error.usage) accountTokens(this.metrics, req.admission, user.name, provider.name, usageOf(event.error.usage), model.id);
        const reason = abort.signal.aborted ? 'aborted' : upstreamErrorReason(upstreamErrorToGatewayError(event.error, upstream.observedStatus()));
        if (reason) this.metrics.upstreamError('responses', provider.name, reason);
      }
    };
    try {
      if (request.stream) await this.stream(upstream.events, encoder, reply, observe, abort.signal);
      else await this.single(upstream.events, encoder, reply, observe);
    } catch (err) {
      throw err instanceof GatewayError ? withRetryAfter(err, upstream.retryAfterSeconds(err.status)) : err;
    } finally {
      const conversation = this.conversations.for(req.config);
      if (conversation) {
        let outcome: ResponseObject | { error: string };
        try {
          outcome = encoder.result();
        } catch (err) {
          outcome = { error: err instanceof Error ? err.message : String(err) };
        }
        conversation.log({
          time: new Date().toISOString(),
          request_id: String(req.id),
          user: user.name,
          provider: provider.name,
          model: model.id,
          request,
          response: outcome,
        });
        this.metrics.conversationLogDropped(conversation.dropped);
      }
    }
  }

  /**
   * Streams Responses SSE. Headers wait for the first output, so an upstream failing before it
   * answers with a real HTTP status; after a long silence the stream opens anyway (with SSE
   * comments as keep-alives) and a later failure becomes a `response.failed` event.
   */
  private async stream(
    events: AsyncIterable<AssistantMessageEvent>,
    encoder: ResponsesEventEncoder,
    reply: FastifyReply,
    observe: (e: AssistantMessageEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    let sse: SseResponse | undefined;
    const started = performance.now();
    const pingMs = pingEveryMs();
    const open = (): SseResponse => {
      if (sse) return sse;
      hijackWithHead(reply, 200, ['content-type', 'text/event-stream; charset=utf-8', 'cache-control', 'no-cache']);
      sse = new SseResponse(pingMs, () => ': ping\n\n', reply.raw);
      return sse;
    };
    const early = setTimeout(open, pingMs);
    try {
      for await (const event of events) {
        observe(event);
        const out = encoder.push(event);
        if (encoder.failure) break;
        if (out.length > 0) {
          const first = !sse;
          await open().write(encodeResponsesEvents(out));
          if (first) this.metrics.firstByte('responses', (performance.now() - started) / 1e3);
        }
        if (encoder.finished || signal.aborted) break;
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!sse) throw upstreamErrorToGatewayError({ stopReason: 'error', errorMessage: message });
      // Keep-alives may have opened the stream before anything was encoded.
      const tail = encoder.end('Upstream stream failed');
      sse.end(encodeResponsesEvents(encoder.failure ? encoder.failedStream(encoder.failure) : tail));
      return;
    } finally {
      clearTimeout(early);
    }
    const tail = encoder.end();
    const failure = encoder.failure;
    if (failure && !sse) throw failure;
    if (failure) {
      // Only keep-alive comments went out: the client still needs a failure it can parse.
      sse?.end(encodeResponsesEvents(encoder.failedStream(failure)));
      return;
    }
    open().end(encodeResponsesEvents(tail));
  }

  private async single(
    events: AsyncIterable<AssistantMessageEvent>,
    encoder: ResponsesEventEncoder,
    reply: FastifyReply,
    observe: (e: AssistantMessageEvent) => void,
  ): Promise<void> {
    for await (const event of events) {
      observe(event);
      encoder.push(event);
      if (encoder.finished) break;
    }
    const response = encoder.result();
    await reply.code(200).header('content-type', 'application/json').send(JSON.stringify(response));
  }
}
