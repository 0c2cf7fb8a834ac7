import type { Api, AssistantMessage, Model, StopReason } from '@mariozechner/pi-ai';

/** An assistant message with no content and zero usage, for the model's API and provider. */
export function emptyAssistantMessage(model: Pick<Model<Api>, 'api' | 'provider' | 'id'>, stopReason: StopReason): AssistantMessage {
  return {
    role: 'assistant',
    content: [],
    api: model.api,
    provider: model.provider,
    model: model.id,
    usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 0, cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 } },
    stopReason,
    timestamp: Date.now(),
  };
}
