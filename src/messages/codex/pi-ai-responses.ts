import type { Api, AssistantMessage, AssistantMessageEventStream, Context, Model, Tool, Usage } from '@mariozechner/pi-ai';

/** A Responses API stream event, as pi-ai's stream processor reads it. */
export type ResponsesEvent = { type: string } & Record<string, unknown>;

export interface ResponsesStreamOptions {
  serviceTier?: string;
  resolveServiceTier?: (responseTier: string | undefined, requestTier: string | undefined) => string | undefined;
  applyServiceTierPricing?: (usage: Usage, serviceTier: string | undefined) => void;
}

interface ResponsesShared {
  convertResponsesMessages(
    this: void,
    model: Model<Api>,
    context: Context,
    allowedToolCallProviders: ReadonlySet<string>,
    options?: { includeSystemPrompt?: boolean },
  ): unknown[];
  convertResponsesTools(this: void, tools: Tool[], options?: { strict?: boolean | null }): unknown[];
  processResponsesStream(
    this: void,
    events: AsyncIterable<ResponsesEvent>,
    output: AssistantMessage,
    stream: AssistantMessageEventStream,
    model: Model<Api>,
    options?: ResponsesStreamOptions,
  ): Promise<void>;
}

/**
 * pi-ai's own Responses translation (context → `input`/`tools`, stream events → pi-ai events),
 * which its Codex provider uses too. The package's `exports` map does not list the module, so it
 * is loaded from the file beside pi-ai's entry point; the version is pinned by package-lock.json
 * and pi-ai-responses.spec.ts fails if an upgrade moves or renames these functions.
 */
const shared = (await import(
  new URL('./providers/openai-responses-shared.js', import.meta.resolve('@mariozechner/pi-ai')).href
)) as ResponsesShared;

export const convertResponsesMessages = shared.convertResponsesMessages;
export const convertResponsesTools = shared.convertResponsesTools;
export const processResponsesStream = shared.processResponsesStream;
