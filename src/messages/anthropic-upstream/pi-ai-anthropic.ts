import type { Api, AssistantMessageEventStream, Context, Message, Model, SimpleStreamOptions, StreamOptions, ThinkingBudgets, ThinkingLevel } from '@mariozechner/pi-ai';

/** What pi-ai's `streamAnthropic` takes beyond StreamOptions (its `AnthropicOptions`). */
export interface AnthropicStreamOptions extends StreamOptions {
  thinkingEnabled?: boolean;
  thinkingBudgetTokens?: number;
  effort?: string;
  interleavedThinking?: boolean;
  toolChoice?: 'auto' | 'any' | 'none' | { type: 'tool'; name: string };
  /** The slice of an Anthropic SDK client that pi-ai calls (see anthropic-client.ts). */
  client?: unknown;
}

interface AnthropicProvider {
  streamAnthropic(this: void, model: Model<Api>, context: Context, options?: AnthropicStreamOptions): AssistantMessageEventStream;
}

interface SimpleOptions {
  buildBaseOptions(this: void, model: Model<Api>, options: SimpleStreamOptions | undefined, apiKey: string): StreamOptions;
  adjustMaxTokensForThinking(
    this: void,
    baseMaxTokens: number,
    modelMaxTokens: number,
    reasoningLevel: ThinkingLevel,
    customBudgets?: ThinkingBudgets,
  ): { maxTokens: number; thinkingBudget: number };
}

interface CopilotHeaders {
  hasCopilotVisionInput(this: void, messages: Message[]): boolean;
  buildCopilotDynamicHeaders(this: void, params: { messages: Message[]; hasImages: boolean }): Record<string, string>;
}

/**
 * pi-ai's Anthropic provider and the helpers its `streamSimpleAnthropic` uses. The package's
 * `exports` map does not list these modules, so they are loaded from the files beside pi-ai's
 * entry point (the lazy `streamAnthropic` of its index would add a stream that only forwards);
 * the version is pinned by package-lock.json and pi-ai-anthropic.spec.ts fails if an upgrade
 * moves or renames them.
 */
const load = async <T>(path: string): Promise<T> => (await import(new URL(path, import.meta.resolve('@mariozechner/pi-ai')).href)) as T;
const provider = await load<AnthropicProvider>('./providers/anthropic.js');
const simple = await load<SimpleOptions>('./providers/simple-options.js');
const copilot = await load<CopilotHeaders>('./providers/github-copilot-headers.js');
const unicode = await load<{ sanitizeSurrogates(this: void, text: string): string }>('./utils/sanitize-unicode.js');

export const streamAnthropic = provider.streamAnthropic;
export const buildBaseOptions = simple.buildBaseOptions;
export const adjustMaxTokensForThinking = simple.adjustMaxTokensForThinking;
export const hasCopilotVisionInput = copilot.hasCopilotVisionInput;
export const buildCopilotDynamicHeaders = copilot.buildCopilotDynamicHeaders;
export const sanitizeSurrogates = unicode.sanitizeSurrogates;
