import { getModel } from '@mariozechner/pi-ai';
import { describe, expect, it } from 'vitest';
import type { LlmSettings, Provider } from '../../config/gateway-config.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { buildPiModel, CUSTOM_MODEL_CONTEXT_WINDOW, CUSTOM_MODEL_MAX_TOKENS } from './pi-model-factory.js';

function provider(llm: Partial<LlmSettings> & { provider: string }): Provider {
  return Object.freeze({ name: 'p', apiKeys: new Map(), services: new Map(), llm: { headers: {}, ...llm } });
}

describe('buildPiModel', () => {
  it("returns the registry's model when pi-ai knows it", () => {
    expect(buildPiModel(provider({ provider: 'openai-codex' }), 'gpt-5.1-codex-mini')).toEqual(getModel('openai-codex', 'gpt-5.1-codex-mini'));
  });

  it('overrides the base URL, API and headers from llm', () => {
    const model = buildPiModel(provider({ provider: 'anthropic', baseUrl: 'http://127.0.0.1:4000', headers: { 'x-team': 'a' } }), 'claude-sonnet-4-5');
    expect(model).toMatchObject({ id: 'claude-sonnet-4-5', api: 'anthropic-messages', baseUrl: 'http://127.0.0.1:4000', headers: { 'x-team': 'a' } });
  });

  it('builds a custom model with the API of its closest relative', () => {
    const model = buildPiModel(provider({ provider: 'github-copilot' }), 'claude-sonnet-9');
    expect(model).toMatchObject({
      id: 'claude-sonnet-9',
      api: 'anthropic-messages',
      provider: 'github-copilot',
      baseUrl: 'https://api.individual.githubcopilot.com',
      reasoning: true,
      input: ['text', 'image'],
      cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
      contextWindow: CUSTOM_MODEL_CONTEXT_WINDOW,
      maxTokens: CUSTOM_MODEL_MAX_TOKENS,
    });
    expect(buildPiModel(provider({ provider: 'github-copilot' }), 'gpt-6').api).toBe('openai-responses');
  });

  it('builds a custom model for an OpenAI-compatible server from llm alone', () => {
    const model = buildPiModel(provider({ provider: 'local', api: 'openai-completions', baseUrl: 'http://127.0.0.1:8080/v1' }), 'qwen3-coder');
    expect(model).toMatchObject({ api: 'openai-completions', baseUrl: 'http://127.0.0.1:8080/v1', provider: 'local', reasoning: false });
  });

  it('refuses a custom model it cannot place', () => {
    expect(() => buildPiModel(provider({ provider: 'local' }), 'x')).toThrow(GatewayError);
  });

  it('refuses a provider without llm settings', () => {
    expect(() => buildPiModel({ name: 'p', apiKeys: new Map(), services: new Map() }, 'x')).toThrow(GatewayError);
  });

  it('builds each model once per provider object', () => {
    const p = provider({ provider: 'openai-codex' });
    expect(buildPiModel(p, 'gpt-5.1')).toBe(buildPiModel(p, 'gpt-5.1'));
    expect(buildPiModel(provider({ provider: 'openai-codex' }), 'gpt-5.1')).not.toBe(buildPiModel(p, 'gpt-5.1'));
  });
});
