import { clampThinkingLevel, type Api, type Context, type Model, type SimpleStreamOptions, type ThinkingLevel } from '@mariozechner/pi-ai';
import { convertMessages, convertTools, sanitizeSurrogates } from './pi-ai-google.js';

/**
 * The request pi-ai 0.73's google-generative-ai provider builds (`streamSimpleGoogle` and
 * `buildParams` in providers/google.js), in the same shape: `@google/genai`'s
 * `GenerateContentParameters`, which is also what an `onPayload` hook receives and patches.
 */
export interface GeminiParams {
  model: string;
  contents: unknown[];
  config: Record<string, unknown>;
}

type Effort = Exclude<ThinkingLevel, 'off'>;
type Thinking = { enabled: false } | { enabled: true; level?: string; budgetTokens?: number };

export const DEFAULT_GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com/v1beta';

export function geminiParams(model: Model<Api>, context: Context, options: SimpleStreamOptions): GeminiParams {
  const config: Record<string, unknown> = {};
  if (options.temperature !== undefined) config.temperature = options.temperature;
  const maxTokens = options.maxTokens ?? (model.maxTokens > 0 ? Math.min(model.maxTokens, 32000) : undefined);
  if (maxTokens !== undefined) config.maxOutputTokens = maxTokens;
  if (context.systemPrompt) config.systemInstruction = sanitizeSurrogates(context.systemPrompt);
  if (context.tools && context.tools.length > 0) config.tools = convertTools(context.tools);
  const thinking = thinkingFor(model, options);
  if (thinking.enabled && model.reasoning) {
    const thinkingConfig: Record<string, unknown> = { includeThoughts: true };
    if (thinking.level !== undefined) thinkingConfig.thinkingLevel = thinking.level;
    else if (thinking.budgetTokens !== undefined) thinkingConfig.thinkingBudget = thinking.budgetTokens;
    config.thinkingConfig = thinkingConfig;
  } else if (model.reasoning && !thinking.enabled) {
    config.thinkingConfig = disabledThinkingConfig(model);
  }
  return { model: model.id, contents: convertMessages(model, context), config };
}

/** Config fields the Gemini API takes beside `contents`; `@google/genai` puts the others in `generationConfig`. */
const TOP_LEVEL_FIELDS: ReadonlySet<string> = new Set(['systemInstruction', 'tools', 'toolConfig', 'safetySettings', 'cachedContent']);
/** Client-side settings of the SDK's config, never sent. */
const CLIENT_FIELDS: ReadonlySet<string> = new Set(['abortSignal', 'httpOptions', 'automaticFunctionCalling', 'shouldReturnHttpResponse']);

/** The JSON body of `:streamGenerateContent`, as `@google/genai` 1.52 lays out params for the Gemini API. */
export function geminiBody(params: GeminiParams): Record<string, unknown> {
  const body: Record<string, unknown> = { contents: params.contents };
  const generationConfig: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params.config)) {
    if (value === undefined || value === null || CLIENT_FIELDS.has(name)) continue;
    if (name === 'systemInstruction') body.systemInstruction = typeof value === 'string' ? { parts: [{ text: value }], role: 'user' } : value;
    else if (TOP_LEVEL_FIELDS.has(name)) body[name] = value;
    else generationConfig[name] = value;
  }
  body.generationConfig = generationConfig;
  return body;
}

/** `<baseUrl>/models/<id>:streamGenerateContent?alt=sse`; the base URL carries the API version (pi-ai's models say `/v1beta`). */
export function geminiStreamUrl(baseUrl: string | undefined, modelId: string): string {
  const base = (baseUrl && baseUrl.trim() !== '' ? baseUrl : DEFAULT_GEMINI_BASE_URL).replace(/\/+$/, '');
  const name = modelId.includes('/') ? modelId : `models/${modelId}`;
  return `${base}/${name}:streamGenerateContent?alt=sse`;
}

function thinkingFor(model: Model<Api>, options: SimpleStreamOptions): Thinking {
  if (!options.reasoning) return { enabled: false };
  const clamped = clampThinkingLevel(model, options.reasoning);
  const effort: Effort = clamped === 'off' ? 'high' : clamped;
  if (isGemini3Pro(model) || isGemini3Flash(model) || isGemma4(model)) return { enabled: true, level: thinkingLevel(effort, model) };
  return { enabled: true, budgetTokens: thinkingBudget(model, effort, options.thinkingBudgets) };
}

const isGemma4 = (model: Model<Api>): boolean => /gemma-?4/.test(model.id.toLowerCase());
const isGemini3Pro = (model: Model<Api>): boolean => /gemini-3(?:\.\d+)?-pro/.test(model.id.toLowerCase());
const isGemini3Flash = (model: Model<Api>): boolean => /gemini-3(?:\.\d+)?-flash/.test(model.id.toLowerCase());

/** Gemini 3 cannot turn thinking off: its lowest level, without thoughts in the answer. */
function disabledThinkingConfig(model: Model<Api>): Record<string, unknown> {
  if (isGemini3Pro(model)) return { thinkingLevel: 'LOW' };
  if (isGemini3Flash(model) || isGemma4(model)) return { thinkingLevel: 'MINIMAL' };
  return { thinkingBudget: 0 };
}

/** pi-ai's levels; `xhigh` has none (pi-ai then sends no level). */
function thinkingLevel(effort: Effort, model: Model<Api>): string | undefined {
  const low = effort === 'minimal' || effort === 'low';
  const high = effort === 'medium' || effort === 'high';
  if (isGemini3Pro(model)) return low ? 'LOW' : high ? 'HIGH' : undefined;
  if (isGemma4(model)) return low ? 'MINIMAL' : high ? 'HIGH' : undefined;
  const levels: Partial<Record<Effort, string>> = { minimal: 'MINIMAL', low: 'LOW', medium: 'MEDIUM', high: 'HIGH' };
  return levels[effort];
}

const BUDGETS_25_PRO: Partial<Record<Effort, number>> = { minimal: 128, low: 2048, medium: 8192, high: 32768 };
const BUDGETS_25_FLASH_LITE: Partial<Record<Effort, number>> = { minimal: 512, low: 2048, medium: 8192, high: 24576 };
const BUDGETS_25_FLASH: Partial<Record<Effort, number>> = { minimal: 128, low: 2048, medium: 8192, high: 24576 };

/** The thinking budget for an effort; -1 lets the model decide. */
function thinkingBudget(model: Model<Api>, effort: Effort, custom: SimpleStreamOptions['thinkingBudgets']): number | undefined {
  const own = effort === 'xhigh' ? undefined : custom?.[effort];
  if (own !== undefined) return own;
  if (model.id.includes('2.5-pro')) return BUDGETS_25_PRO[effort];
  if (model.id.includes('2.5-flash-lite')) return BUDGETS_25_FLASH_LITE[effort];
  if (model.id.includes('2.5-flash')) return BUDGETS_25_FLASH[effort];
  return -1;
}
