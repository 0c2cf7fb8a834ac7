import type { ThinkingLevel } from '@mariozechner/pi-ai';
import type { GatewayConfig, Provider } from '../../config/gateway-config.js';
import { ErrorCode } from '../../errors/error-codes.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { AnthropicEffort, AnthropicRequest } from '../anthropic/anthropic-request.js';

/**
 * The `models` config section maps the model a client asks for to the provider's model:
 *
 * ```yaml
 * models:
 *   claude-sonnet-4-5: gpt-5.1-codex                 # any provider
 *   "codex:claude-opus-5-5":                          # only for provider "codex"
 *     model: gpt-5.1-codex-max
 *     reasoning: { low: low, medium: medium, high: high, max: xhigh, default: medium }
 *   default: { codex: gpt-5.1-codex-mini }           # or `default: gpt-5.1-codex-mini`
 * ```
 */

/** A target reasoning level, or "off" for none. */
export type ReasoningSetting = ThinkingLevel | 'off';
export const REASONING_SETTINGS: readonly ReasoningSetting[] = ['off', 'minimal', 'low', 'medium', 'high', 'xhigh'];

/** Source effort → target reasoning; `default` applies when the request implies no effort. */
export type EffortMap = Partial<Record<AnthropicEffort | 'default', ReasoningSetting>>;
export const EFFORT_MAP_KEYS: readonly (keyof EffortMap)[] = ['low', 'medium', 'high', 'xhigh', 'max', 'default'];

export interface ModelTarget {
  model: string;
  reasoning?: EffortMap;
}

export interface ResolvedModel {
  /** The model id the client sent ("" when none). */
  requestedModel: string;
  /** The model id to report back to the client (`message.model`): what it asked for. */
  responseModel: string;
  /** The provider's model id to call. */
  targetModel: string;
  /** pi-ai reasoning level, undefined for none. */
  reasoning: ThinkingLevel | undefined;
  /** The effort the request implied, for logs. */
  sourceEffort: AnthropicEffort | undefined;
  /** The map key that matched (`"codex:claude-opus-5-5"`, `"default"`), undefined when none did. */
  matchedKey: string | undefined;
}

type EffortSource = Pick<AnthropicRequest, 'model' | 'thinking' | 'output_config' | 'effort'>;

const DATE_SUFFIX = /-\d{8}$/;

export function resolveModel(config: Pick<GatewayConfig, 'models'>, provider: Provider, request: EffortSource): ResolvedModel {
  const requested = request.model;
  let target: ModelTarget | undefined;
  let matchedKey: string | undefined;
  if (requested === '') {
    const defaultModel = provider.llm?.defaultModel;
    if (defaultModel !== undefined) target = { model: defaultModel };
    else {
      target = defaultTarget(config.models, provider.name);
      if (target === undefined) {
        throw new GatewayError(ErrorCode.BadRequest, 'model: field required (this provider has no default model)');
      }
      matchedKey = 'default';
    }
  } else {
    const hit = lookup(config.models, provider.name, requested);
    if (hit) [matchedKey, target] = hit;
    else {
      target = defaultTarget(config.models, provider.name);
      if (target) matchedKey = 'default';
      else target = { model: requested };
    }
  }
  const sourceEffort = effortOf(request);
  return {
    requestedModel: requested,
    responseModel: requested === '' ? target.model : requested,
    targetModel: target.model,
    reasoning: reasoningFor(request, sourceEffort, target.reasoning),
    sourceEffort: sourceEffort === 'disabled' ? undefined : sourceEffort,
    matchedKey,
  };
}

/** Thinking budgets map to efforts at the budgets Claude Code uses for each effort. */
export function effortFromBudget(budgetTokens: number): AnthropicEffort {
  if (budgetTokens <= 2048) return 'low';
  if (budgetTokens <= 8192) return 'medium';
  if (budgetTokens <= 24576) return 'high';
  return 'max';
}

function effortOf(request: EffortSource): AnthropicEffort | 'disabled' | undefined {
  if (request.thinking?.type === 'disabled') return 'disabled';
  const explicit = request.output_config?.effort ?? request.effort;
  if (explicit) return explicit;
  if (request.thinking?.type === 'enabled') return effortFromBudget(request.thinking.budget_tokens);
  return undefined;
}

function reasoningFor(
  request: EffortSource,
  effort: AnthropicEffort | 'disabled' | undefined,
  map: EffortMap | undefined,
): ThinkingLevel | undefined {
  if (effort === 'disabled') return undefined;
  let setting: ReasoningSetting | undefined;
  if (effort !== undefined) setting = map?.[effort] ?? (effort === 'xhigh' ? map?.max : undefined) ?? sameLevel(effort);
  // Adaptive thinking without an effort means Anthropic's default effort, "high".
  else setting = map?.default ?? (request.thinking?.type === 'adaptive' ? 'high' : undefined);
  return setting === 'off' ? undefined : setting;
}

function sameLevel(effort: AnthropicEffort): ThinkingLevel {
  return effort === 'max' ? 'xhigh' : effort;
}

function lookup(models: Readonly<Record<string, unknown>>, providerName: string, model: string): [string, ModelTarget] | undefined {
  const names = [model];
  const undated = model.replace(DATE_SUFFIX, '');
  if (undated !== model) names.push(undated);
  for (const name of names) {
    for (const key of [`${providerName}:${name}`, name]) {
      if (key === 'default' || !Object.hasOwn(models, key)) continue;
      const target = parseTarget(models[key]);
      if (target) return [key, target];
    }
  }
  return undefined;
}

function defaultTarget(models: Readonly<Record<string, unknown>>, providerName: string): ModelTarget | undefined {
  if (!Object.hasOwn(models, 'default')) return undefined;
  const value = models.default;
  const direct = parseTarget(value);
  if (direct) return direct;
  if (isObj(value) && Object.hasOwn(value, providerName)) return parseTarget(value[providerName]);
  return undefined;
}

/** A validated map value; anything else (only possible without validation) is skipped. */
export function parseTarget(value: unknown): ModelTarget | undefined {
  if (typeof value === 'string') return value === '' ? undefined : { model: value };
  if (!isObj(value) || typeof value.model !== 'string' || value.model === '') return undefined;
  const map = value.reasoning ?? value.effort;
  return isObj(map) ? { model: value.model, reasoning: map } : { model: value.model };
}

export interface ModelAlias {
  /** What the client may ask for. */
  id: string;
  /** What it is served by. */
  targetModel: string;
}

/** The model ids the map offers a provider's users, for GET /v1/models. */
export function modelAliases(config: Pick<GatewayConfig, 'models' | 'providers'>, providerName: string): ModelAlias[] {
  const plain = new Map<string, string>();
  const prefixed = new Map<string, string>();
  for (const [key, value] of Object.entries(config.models)) {
    if (key === 'default') continue;
    const target = parseTarget(value);
    if (!target) continue;
    const colon = key.indexOf(':');
    const prefix = colon > 0 ? key.slice(0, colon) : undefined;
    if (prefix !== undefined && config.providers.has(prefix)) {
      if (prefix === providerName) prefixed.set(key.slice(colon + 1), target.model);
    } else plain.set(key, target.model);
  }
  for (const [id, targetModel] of prefixed) plain.set(id, targetModel);
  return [...plain].map(([id, targetModel]) => ({ id, targetModel })).sort((a, b) => a.id.localeCompare(b.id));
}

// ---- config validation --------------------------------------------------------

/** Errors in the raw `models` section, each prefixed with its path (`models["x"].reasoning.low: ...`). */
export function validateModelsSection(models: unknown, providerNames: ReadonlySet<string>): string[] {
  if (models === undefined || models === null) return [];
  if (!isObj(models)) return ['models: must be a map of model names'];
  const errors: string[] = [];
  for (const [key, value] of Object.entries(models)) {
    const at = `models[${JSON.stringify(key)}]`;
    if (key.trim() === '') {
      errors.push(`${at}: model name must not be empty`);
      continue;
    }
    if (key === 'default') errors.push(...validateDefault(value, providerNames));
    else errors.push(...validateTarget(value, at));
  }
  return errors;
}

function validateDefault(value: unknown, providerNames: ReadonlySet<string>): string[] {
  const at = 'models.default';
  if (typeof value === 'string' || (isObj(value) && Object.hasOwn(value, 'model'))) return validateTarget(value, at);
  if (!isObj(value)) return [`${at}: must be a model name, { model, reasoning } or a map of provider name to model`];
  const errors: string[] = [];
  for (const [name, target] of Object.entries(value)) {
    const path = `${at}[${JSON.stringify(name)}]`;
    if (!providerNames.has(name)) errors.push(`${path}: ${JSON.stringify(name)} is not a provider`);
    else errors.push(...validateTarget(target, path));
  }
  return errors;
}

function validateTarget(value: unknown, at: string): string[] {
  if (typeof value === 'string') return value === '' ? [`${at}: model name must not be empty`] : [];
  if (!isObj(value)) return [`${at}: must be a model name or { model, reasoning }`];
  const errors: string[] = [];
  if (typeof value.model !== 'string' || value.model === '') errors.push(`${at}.model: must be a non-empty model name`);
  for (const key of Object.keys(value)) {
    if (key !== 'model' && key !== 'reasoning' && key !== 'effort') errors.push(`${at}.${key}: unknown field`);
  }
  if (value.reasoning !== undefined && value.effort !== undefined) {
    errors.push(`${at}: use either reasoning or effort, not both`);
  }
  const mapKey = value.reasoning !== undefined ? 'reasoning' : value.effort !== undefined ? 'effort' : undefined;
  if (mapKey !== undefined) errors.push(...validateEffortMap(value[mapKey], `${at}.${mapKey}`));
  return errors;
}

function validateEffortMap(value: unknown, at: string): string[] {
  if (!isObj(value)) return [`${at}: must be a map of effort (${EFFORT_MAP_KEYS.join(', ')}) to reasoning level`];
  const errors: string[] = [];
  for (const [key, level] of Object.entries(value)) {
    if (!(EFFORT_MAP_KEYS as readonly string[]).includes(key)) {
      errors.push(`${at}.${key}: unknown effort (expected ${EFFORT_MAP_KEYS.join(', ')})`);
    } else if (typeof level !== 'string' || !(REASONING_SETTINGS as readonly string[]).includes(level)) {
      errors.push(`${at}.${key}: must be one of ${REASONING_SETTINGS.join(', ')}`);
    }
  }
  return errors;
}

function isObj(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
