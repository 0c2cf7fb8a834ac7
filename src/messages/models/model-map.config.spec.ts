import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/config-loader.js';
import './model-map.config.js';

const base = `
providers:
  - name: codex
    apiKeys: { main: some-provider-key }
    llm: { provider: openai-codex }
users:
  - { name: dev, apiKey: piapi-dev-user-key-123456, providerName: codex, providerKeyName: main }
`;

describe('model-map.config', () => {
  it('makes config loading reject a bad models section with its path', () => {
    const result = parseConfig(`${base}models:\n  claude-haiku-4-5: { model: gpt-5.1-codex-mini, reasoning: { low: huge } }\n`, {});
    expect(result).toEqual({ ok: false, errors: ['models["claude-haiku-4-5"].reasoning.low: must be one of off, minimal, low, medium, high, xhigh'] });
  });

  it('lets a valid models section through', () => {
    const result = parseConfig(`${base}models:\n  claude-haiku-4-5: gpt-5.1-codex-mini\n  default: { codex: gpt-5.1 }\n`, {});
    expect(result.ok).toBe(true);
  });
});
