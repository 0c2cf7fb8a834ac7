import { describe, expect, it } from 'vitest';
import type { Provider } from '../../config/gateway-config.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { effortFromBudget, modelAliases, resolveModel, validateModelsSection } from './model-map.js';

function provider(name: string, defaultModel?: string): Provider {
  return { name, apiKeys: new Map(), services: new Map(), llm: { provider: 'openai-codex', headers: {}, ...(defaultModel ? { defaultModel } : {}) } };
}

const codex = provider('codex', 'gpt-5.1-codex-mini');
const models = {
  'claude-sonnet-4-5': 'gpt-5.1-codex',
  'codex:claude-sonnet-4-5': { model: 'gpt-5.2-codex', reasoning: { low: 'minimal', max: 'xhigh', default: 'medium' } },
  'claude-haiku-4-5': { model: 'gpt-5.1-codex-mini', effort: { high: 'medium' } },
  default: { codex: 'gpt-5.1', other: 'x' },
};
const config = { models, providers: new Map([['codex', codex], ['other', provider('other')]]) };

function resolve(request: Parameters<typeof resolveModel>[2], p: Provider = codex, m: Record<string, unknown> = models) {
  return resolveModel({ models: m }, p, request);
}

describe('resolveModel', () => {
  it('prefers the provider-prefixed key', () => {
    expect(resolve({ model: 'claude-sonnet-4-5' })).toMatchObject({ targetModel: 'gpt-5.2-codex', matchedKey: 'codex:claude-sonnet-4-5' });
  });

  it('falls back to the plain key for other providers', () => {
    expect(resolve({ model: 'claude-sonnet-4-5' }, provider('other'))).toMatchObject({ targetModel: 'gpt-5.1-codex', matchedKey: 'claude-sonnet-4-5' });
  });

  it('matches a dated id to its undated alias', () => {
    expect(resolve({ model: 'claude-sonnet-4-5-20250929' })).toMatchObject({ targetModel: 'gpt-5.2-codex', requestedModel: 'claude-sonnet-4-5-20250929' });
  });

  it("uses the provider's default for a model not in the map", () => {
    expect(resolve({ model: 'claude-opus-5-5' })).toMatchObject({ targetModel: 'gpt-5.1', matchedKey: 'default' });
  });

  it('uses a default given as a plain model name', () => {
    expect(resolve({ model: 'claude-opus-5-5' }, codex, { default: 'gpt-5.4' }).targetModel).toBe('gpt-5.4');
  });

  it('passes an unmapped model through when there is no default', () => {
    expect(resolve({ model: 'gpt-5.5' }, codex, {})).toMatchObject({ targetModel: 'gpt-5.5', matchedKey: undefined });
  });

  it("uses the provider's defaultModel when the request names none", () => {
    expect(resolve({ model: '' })).toMatchObject({ targetModel: 'gpt-5.1-codex-mini', responseModel: 'gpt-5.1-codex-mini' });
  });

  it('rejects a request without a model when nothing provides one', () => {
    expect(() => resolve({ model: '' }, provider('bare'), {})).toThrow(GatewayError);
  });

  it('reports the requested model back to the client', () => {
    expect(resolve({ model: 'claude-opus-5-5' }).responseModel).toBe('claude-opus-5-5');
  });
});

describe('resolveModel reasoning', () => {
  it('maps output_config.effort through the map', () => {
    expect(resolve({ model: 'claude-sonnet-4-5', output_config: { effort: 'low' } }).reasoning).toBe('minimal');
  });

  it('reads the older top-level effort', () => {
    expect(resolve({ model: 'claude-sonnet-4-5', effort: 'max' }).reasoning).toBe('xhigh');
  });

  it('keeps an effort the map does not name at the same level', () => {
    expect(resolve({ model: 'claude-sonnet-4-5', output_config: { effort: 'high' } }).reasoning).toBe('high');
  });

  it('accepts "effort" as the name of the map', () => {
    expect(resolve({ model: 'claude-haiku-4-5', output_config: { effort: 'high' } }).reasoning).toBe('medium');
  });

  it.each([
    [1024, 'low'],
    [2048, 'low'],
    [8192, 'medium'],
    [24576, 'high'],
    [31999, 'max'],
  ] as const)('infers effort from a thinking budget of %i tokens', (budget, effort) => {
    expect(effortFromBudget(budget)).toBe(effort);
  });

  it('maps a thinking budget through the map', () => {
    expect(resolve({ model: 'claude-sonnet-4-5', thinking: { type: 'enabled', budget_tokens: 31999 } })).toMatchObject({ reasoning: 'xhigh', sourceEffort: 'max' });
  });

  it('turns reasoning off for disabled thinking whatever the effort', () => {
    expect(resolve({ model: 'claude-sonnet-4-5', thinking: { type: 'disabled' }, output_config: { effort: 'high' } }).reasoning).toBeUndefined();
  });

  it("uses the map's default for adaptive thinking without effort", () => {
    expect(resolve({ model: 'claude-sonnet-4-5', thinking: { type: 'adaptive' } }).reasoning).toBe('medium');
  });

  it('uses high for adaptive thinking without effort or map default, as Anthropic does', () => {
    expect(resolve({ model: 'claude-opus-5-5', thinking: { type: 'adaptive' } }).reasoning).toBe('high');
  });

  it('uses no reasoning for a request without thinking or effort and no map default', () => {
    expect(resolve({ model: 'claude-opus-5-5' }).reasoning).toBeUndefined();
  });

  it('lets the map turn reasoning off', () => {
    expect(resolve({ model: 'a', output_config: { effort: 'low' } }, codex, { a: { model: 'b', reasoning: { low: 'off' } } }).reasoning).toBeUndefined();
  });
});

describe('modelAliases', () => {
  it("lists the plain keys and the provider's own prefixed keys", () => {
    expect(modelAliases(config, 'codex')).toEqual([
      { id: 'claude-haiku-4-5', targetModel: 'gpt-5.1-codex-mini' },
      { id: 'claude-sonnet-4-5', targetModel: 'gpt-5.2-codex' },
    ]);
  });

  it("leaves out other providers' prefixed keys", () => {
    expect(modelAliases(config, 'other').find((a) => a.id === 'claude-sonnet-4-5')?.targetModel).toBe('gpt-5.1-codex');
  });
});

describe('validateModelsSection', () => {
  const providers = new Set(['codex']);

  it('accepts a valid map', () => {
    expect(validateModelsSection(models, new Set(['codex', 'other']))).toEqual([]);
  });

  it('accepts no map', () => {
    expect(validateModelsSection(undefined, providers)).toEqual([]);
  });

  it('names the path of every bad value', () => {
    expect(
      validateModelsSection(
        {
          'claude-haiku-4-5': 5,
          a: { model: '' },
          b: { model: 'x', reasoning: { low: 'lots', extreme: 'high' } },
          c: { model: 'x', reasoning: {}, effort: {} },
          d: { model: 'x', temperature: 1 },
          default: { nope: 'x' },
        },
        providers,
      ),
    ).toEqual([
      'models["claude-haiku-4-5"]: must be a model name or { model, reasoning }',
      'models["a"].model: must be a non-empty model name',
      'models["b"].reasoning.low: must be one of off, minimal, low, medium, high, xhigh',
      'models["b"].reasoning.extreme: unknown effort (expected low, medium, high, xhigh, max, default)',
      'models["c"]: use either reasoning or effort, not both',
      'models["d"].temperature: unknown field',
      'models.default["nope"]: "nope" is not a provider',
    ]);
  });
});
