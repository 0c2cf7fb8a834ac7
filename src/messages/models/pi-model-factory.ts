import { getModel, getModels, type Api, type KnownProvider, type Model } from '@mariozechner/pi-ai';
import type { LlmSettings, Provider } from '../../config/gateway-config.js';
import { ErrorCode } from '../../errors/error-codes.js';
import { GatewayError } from '../../errors/gateway-error.js';

/** Limits for a model pi-ai's registry does not know: large enough for Claude Code, small enough to be accepted. */
export const CUSTOM_MODEL_CONTEXT_WINDOW = 200_000;
export const CUSTOM_MODEL_MAX_TOKENS = 32_000;

/** APIs whose pi-ai providers send reasoning settings only when asked to. */
const REASONING_APIS: ReadonlySet<string> = new Set([
  'anthropic-messages',
  'openai-responses',
  'azure-openai-responses',
  'openai-codex-responses',
  'google-generative-ai',
  'google-vertex',
  'bedrock-converse-stream',
]);

/**
 * Providers are frozen per config snapshot, so a WeakMap keyed by the provider object caches
 * models exactly as long as the snapshot lives, and a reload starts afresh.
 */
const cache = new WeakMap<Provider, Map<string, Model<Api>>>();

/** The pi-ai model for a provider's model id: the registry's when it knows it, else one built from `llm`. */
export function buildPiModel(provider: Provider, modelId: string): Model<Api> {
  const llm = provider.llm;
  if (!llm) {
    throw new GatewayError(ErrorCode.NotFound, `Provider "${provider.name}" has no llm section: the Messages API is not available for it`);
  }
  let models = cache.get(provider);
  if (!models) {
    models = new Map();
    cache.set(provider, models);
  }
  let model = models.get(modelId);
  if (!model) {
    model = createModel(provider.name, llm, modelId);
    models.set(modelId, model);
  }
  return model;
}

function createModel(providerName: string, llm: LlmSettings, modelId: string): Model<Api> {
  const registered = getModel(llm.provider as KnownProvider, modelId as never) as Model<Api> | undefined;
  const headers = Object.keys(llm.headers).length > 0 ? llm.headers : undefined;
  if (registered) {
    return {
      ...registered,
      api: llm.api ?? registered.api,
      baseUrl: llm.baseUrl ?? registered.baseUrl,
      ...(headers || registered.headers ? { headers: { ...registered.headers, ...headers } } : {}),
    };
  }
  const known = getModels(llm.provider as KnownProvider) as Model<Api>[];
  const relative = closestRelative(known, modelId, llm.api);
  const api = llm.api ?? relative?.api ?? mostCommonApi(known);
  const baseUrl = llm.baseUrl ?? known.find((m) => m.api === api)?.baseUrl;
  if (api === undefined || !baseUrl) {
    throw new GatewayError(
      ErrorCode.Unavailable,
      `Provider "${providerName}": pi-ai knows no model "${modelId}" for "${llm.provider}"; set llm.api and llm.baseUrl to use it`,
    );
  }
  return {
    id: modelId,
    name: modelId,
    api,
    provider: llm.provider,
    baseUrl,
    // A relative of the same family knows best; otherwise only APIs that send no reasoning
    // fields unless asked are safe to mark as reasoning-capable.
    reasoning: relative ? relative.reasoning : REASONING_APIS.has(api),
    input: ['text', 'image'],
    cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    contextWindow: CUSTOM_MODEL_CONTEXT_WINDOW,
    maxTokens: CUSTOM_MODEL_MAX_TOKENS,
    ...(headers ? { headers: { ...headers } } : {}),
  };
}

/**
 * The registry model of the same family (`gpt`, `claude`, ...) sharing the longest id prefix;
 * among equals, one with the API most of them use (`gpt-6` is more like the many gpt-5 models
 * on the Responses API than like the two older ones on chat completions).
 */
function closestRelative(known: Model<Api>[], modelId: string, api: string | undefined): Model<Api> | undefined {
  const family = familyOf(modelId);
  let best: Model<Api>[] = [];
  let bestLength = 0;
  for (const model of known) {
    if (familyOf(model.id) !== family || (api !== undefined && model.api !== api)) continue;
    const length = commonPrefixLength(model.id, modelId);
    if (length > bestLength) {
      best = [model];
      bestLength = length;
    } else if (length === bestLength && length > 0) best.push(model);
  }
  const commonApi = mostCommonApi(best);
  return best.find((m) => m.api === commonApi);
}

function familyOf(id: string): string {
  const name = id.slice(id.lastIndexOf('/') + 1).toLowerCase();
  return name.split(/[-.:_]/)[0];
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function mostCommonApi(models: Model<Api>[]): Api | undefined {
  const counts = new Map<Api, number>();
  for (const m of models) counts.set(m.api, (counts.get(m.api) ?? 0) + 1);
  let best: Api | undefined;
  let bestCount = 0;
  for (const [api, count] of counts) {
    if (count > bestCount) {
      best = api;
      bestCount = count;
    }
  }
  return best;
}
