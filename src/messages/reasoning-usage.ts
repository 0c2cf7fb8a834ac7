import type { Usage } from '@mariozechner/pi-ai';

/**
 * pi-ai's Usage has no count of reasoning tokens (they are inside `output`). piapi's own
 * transports add it where the upstream reports one: Codex/OpenAI Responses
 * (`output_tokens_details.reasoning_tokens`) and Gemini (`thoughtsTokenCount`). Anthropic reports
 * none apart, and pi-ai's chat-completions provider drops `completion_tokens_details`.
 */
export interface ReasoningUsage extends Usage {
  reasoning?: number;
}

/** The reasoning tokens within `usage.output`, or 0 when the upstream did not say. */
export function reasoningTokens(usage: Usage): number {
  const count = (usage as ReasoningUsage).reasoning;
  return typeof count === 'number' && Number.isFinite(count) && count > 0 ? Math.min(count, usage.output) : 0;
}
