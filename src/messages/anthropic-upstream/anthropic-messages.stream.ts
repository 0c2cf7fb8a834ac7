import { streamSimple, type Api, type AssistantMessageEventStream, type Context, type Model, type ThinkingLevel } from '@mariozechner/pi-ai';
import type { TransportOptions } from '../pi-upstream.js';
import { AnthropicClient, SYSTEM_PROMPT_MARK } from './anthropic-client.js';
import { adjustMaxTokensForThinking, buildBaseOptions, buildCopilotDynamicHeaders, hasCopilotVisionInput, streamAnthropic, type AnthropicStreamOptions } from './pi-ai-anthropic.js';

const ANTHROPIC_VERSION = '2023-06-01';
const FINE_GRAINED_TOOL_STREAMING_BETA = 'fine-grained-tool-streaming-2025-05-14';
const INTERLEAVED_THINKING_BETA = 'interleaved-thinking-2025-05-14';

/**
 * The `anthropic-messages` API through pi-ai's own provider (request building, SSE reading,
 * events) with piapi's client under it instead of the Anthropic SDK's (see anthropic-client.ts
 * for why). The option mapping is pi-ai 0.73's `streamSimpleAnthropic`, and the headers are what
 * its client construction and the SDK send for an API key or a Copilot token.
 *
 * A Claude subscription's OAuth token (`sk-ant-oat…`) and Cloudflare's AI gateway still go
 * through pi-ai's own path: pi-ai sends OAuth requests in Claude Code's shape (its identity in
 * the system prompt, Claude Code's tool names) only when it builds the client itself.
 */
export function streamAnthropicMessages(model: Model<Api>, context: Context, options: TransportOptions = {}): AssistantMessageEventStream {
  const apiKey = options.apiKey;
  if (!apiKey || apiKey.includes('sk-ant-oat') || model.provider === 'cloudflare-ai-gateway') return streamSimple(model, context, options);
  const client = new AnthropicClient({
    baseUrl: model.baseUrl,
    headers: requestHeaders(model, context, apiKey, options.headers),
    systemPrompt: context.systemPrompt,
    onErrorResponse: (response) => options.onResponse?.(response, model),
    onErrorBody: options.onErrorBody,
  });
  // pi-ai runs a regular expression over the whole system prompt on every request (7% of the
  // CPU of a Codex turn, whose instructions are 7-16 KB): it gets a stand-in, and the client
  // puts the prompt, cleaned as pi-ai would once per distinct prompt, where the stand-in is.
  const piContext = context.systemPrompt ? { ...context, systemPrompt: SYSTEM_PROMPT_MARK } : context;
  const base: AnthropicStreamOptions = { ...buildBaseOptions(model, options, apiKey), client };
  if (!options.reasoning) return streamAnthropic(model, piContext, { ...base, thinkingEnabled: false });
  if (supportsAdaptiveThinking(model.id)) {
    return streamAnthropic(model, piContext, { ...base, thinkingEnabled: true, effort: effortOf(model, options.reasoning) });
  }
  const adjusted = adjustMaxTokensForThinking(base.maxTokens || 0, model.maxTokens, options.reasoning, options.thinkingBudgets);
  return streamAnthropic(model, piContext, { ...base, maxTokens: adjusted.maxTokens, thinkingEnabled: true, thinkingBudgetTokens: adjusted.thinkingBudget });
}

function requestHeaders(model: Model<Api>, context: Context, apiKey: string, optionHeaders: Record<string, string> | undefined): Record<string, string> {
  const betas: string[] = [];
  const eagerToolInput = (model.compat as { supportsEagerToolInputStreaming?: boolean } | undefined)?.supportsEagerToolInputStreaming ?? true;
  if (context.tools?.length && !eagerToolInput) betas.push(FINE_GRAINED_TOOL_STREAMING_BETA);
  // Adaptive-thinking models think between tool calls anyway; pi-ai leaves the beta out for them.
  if (!supportsAdaptiveThinking(model.id)) betas.push(INTERLEAVED_THINKING_BETA);
  const headers: Record<string, string> = {
    accept: 'application/json',
    'anthropic-version': ANTHROPIC_VERSION,
    'anthropic-dangerous-direct-browser-access': 'true',
  };
  if (model.provider === 'github-copilot') headers.authorization = `Bearer ${apiKey}`;
  else headers['x-api-key'] = apiKey;
  if (betas.length > 0) headers['anthropic-beta'] = betas.join(',');
  const dynamic =
    model.provider === 'github-copilot'
      ? buildCopilotDynamicHeaders({ messages: context.messages, hasImages: hasCopilotVisionInput(context.messages) })
      : undefined;
  // Later sources win, as in pi-ai's mergeHeaders; names compared without case, as HTTP does.
  for (const source of [model.headers, dynamic, optionHeaders]) {
    for (const [name, value] of Object.entries(source ?? {})) headers[name.toLowerCase()] = value;
  }
  return headers;
}

/** pi-ai's list: Opus 4.6+ and Sonnet 4.6 think adaptively, with an effort instead of a budget. */
function supportsAdaptiveThinking(modelId: string): boolean {
  return /opus-4[-.][67]|sonnet-4[-.]6/.test(modelId);
}

function effortOf(model: Model<Api>, level: ThinkingLevel): string {
  const mapped = model.thinkingLevelMap?.[level];
  if (typeof mapped === 'string') return mapped;
  if (level === 'minimal' || level === 'low') return 'low';
  if (level === 'medium') return 'medium';
  return 'high';
}
