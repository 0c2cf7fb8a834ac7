import { describe, expect, it } from 'vitest';
import { adjustMaxTokensForThinking, buildBaseOptions, buildCopilotDynamicHeaders, hasCopilotVisionInput, streamAnthropic } from './pi-ai-anthropic.js';

describe('pi-ai Anthropic internals', () => {
  it('loads the provider and the helpers of streamSimpleAnthropic from pi-ai', () => {
    for (const fn of [streamAnthropic, buildBaseOptions, adjustMaxTokensForThinking, hasCopilotVisionInput, buildCopilotDynamicHeaders]) {
      expect(typeof fn).toBe('function');
    }
  });

  it('gives a thinking budget within the model limit as pi-ai 0.73 does', () => {
    expect(adjustMaxTokensForThinking(32_000, 64_000, 'medium')).toEqual({ maxTokens: 40_192, thinkingBudget: 8_192 });
    expect(buildCopilotDynamicHeaders({ messages: [], hasImages: true })).toMatchObject({ 'Copilot-Vision-Request': 'true' });
  });
});
