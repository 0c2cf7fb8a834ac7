import type {
  Api,
  AssistantMessage,
  Context,
  ImageContent,
  Message,
  Model,
  SimpleStreamOptions,
  TextContent,
  ThinkingContent,
  ThinkingLevel,
  Tool,
  ToolCall,
  ToolResultMessage,
  UserMessage,
} from '@mariozechner/pi-ai';
import type {
  AnthropicRequest,
  AssistantContentBlock,
  DocumentBlock,
  ImageBlock,
  SearchResultBlock,
  TextBlock,
  ToolChoice,
  ToolDefinition,
  ToolResultBlock,
  ToolResultContentBlock,
  UserContentBlock,
} from './anthropic-request.js';
import { payloadPatcher } from './payload-patch.js';
import { decodeToolId, isAnthropicToolId } from './tool-id-codec.js';

export interface ContextTarget {
  model: Model<Api>;
  /** From the model map; undefined for no reasoning. */
  reasoning: ThinkingLevel | undefined;
}

export interface PiRequest {
  context: Context;
  /** Everything but `apiKey`, `signal` and `headers`, which the caller adds. */
  options: SimpleStreamOptions;
  /** Whether the response should carry thinking blocks (see AnthropicEventTranscoder). */
  emitThinking: boolean;
}

/**
 * Claude Code puts a billing line that changes on every request first in its system prompt;
 * it means nothing to other models and would defeat their prompt-prefix caches.
 */
const BILLING_HEADER = /^x-anthropic-billing-header:/;

/** Identity of assistant history for non-Anthropic targets: pi-ai then treats it as another model's. */
const CLIENT_ORIGIN = { api: 'anthropic-messages', provider: 'anthropic-client' } as const;

/** APIs whose reasoning models reject `temperature`. */
const NO_TEMPERATURE_WHEN_REASONING: ReadonlySet<string> = new Set([
  'openai-responses',
  'azure-openai-responses',
  'openai-codex-responses',
]);

const EMPTY_USAGE = {
  input: 0,
  output: 0,
  cacheRead: 0,
  cacheWrite: 0,
  totalTokens: 0,
  cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
} as const;

/** Maps a validated Anthropic request to pi-ai's context and stream options for the target model. */
export function requestToContext(request: AnthropicRequest, target: ContextTarget): PiRequest {
  const { model } = target;
  const anthropicTarget = model.api === 'anthropic-messages';
  const converter = new HistoryConverter(model, request.model);
  const messages = converter.convert(request);
  const tools = convertTools(request.tools ?? [], converter.referencedTools, request.tool_choice);
  const toolChoice = effectiveToolChoice(request.tool_choice, tools);

  const context: Context = { messages };
  const systemPrompt = systemPromptOf(request);
  if (systemPrompt !== '') context.systemPrompt = systemPrompt;
  if (tools.length > 0) context.tools = tools;

  // Anthropic rejects thinking together with a forced tool choice.
  const forcesTool = toolChoice?.type === 'any' || toolChoice?.type === 'tool';
  const reasoning = anthropicTarget && forcesTool ? undefined : target.reasoning;

  const options: SimpleStreamOptions = {};
  if (request.max_tokens !== undefined) {
    options.maxTokens = model.maxTokens > 0 ? Math.min(request.max_tokens, model.maxTokens) : request.max_tokens;
  }
  if (reasoning !== undefined) options.reasoning = reasoning;
  if (request.temperature !== undefined && !(model.reasoning && NO_TEMPERATURE_WHEN_REASONING.has(model.api))) {
    options.temperature = request.temperature;
  }
  const userId = request.metadata?.user_id;
  if (userId !== undefined) {
    options.metadata = { user_id: userId };
    const sessionId = sessionIdOf(userId);
    if (sessionId !== undefined) options.sessionId = sessionId;
  }
  const onPayload = payloadPatcher(model.api, {
    toolChoice,
    stopSequences: request.stop_sequences,
    topP: request.top_p,
    topK: request.top_k,
  });
  if (onPayload) options.onPayload = onPayload;

  const askedForThinking = request.thinking?.type === 'enabled' || request.thinking?.type === 'adaptive';
  // Anthropic needs its thinking blocks back next turn, so they go to the client whenever they exist.
  const emitThinking = askedForThinking || (anthropicTarget && reasoning !== undefined);
  return { context, options, emitThinking };
}

/** The id pi-ai should see for a tool id the client sent back. */
export function toPiToolCallId(wireId: string, api: Api): string {
  const decoded = decodeToolId(wireId);
  // An Anthropic upstream never issued a non-Anthropic id; the encoded form is valid for it as is.
  return api === 'anthropic-messages' && !isAnthropicToolId(decoded) ? wireId : decoded;
}

/** The top-level system prompt, then every `role: "system"` message in order. */
export function systemPromptOf(request: AnthropicRequest): string {
  const parts: string[] = [];
  const add = (content: string | TextBlock[]) => {
    if (typeof content === 'string') {
      if (content.trim() !== '') parts.push(content);
      return;
    }
    for (const block of content) {
      if (block.text.trim() !== '' && !BILLING_HEADER.test(block.text)) parts.push(block.text);
    }
  };
  if (request.system !== undefined) add(request.system);
  for (const message of request.messages) if (message.role === 'system') add(message.content);
  return parts.join('\n\n');
}

/** Claude Code's metadata.user_id is JSON carrying a session id (older versions: `..._session_<uuid>`). */
function sessionIdOf(userId: string): string | undefined {
  if (userId.startsWith('{')) {
    try {
      const parsed = JSON.parse(userId) as { session_id?: unknown };
      if (typeof parsed.session_id === 'string' && parsed.session_id !== '') return parsed.session_id;
    } catch {
      // Not JSON after all: fall through.
    }
  }
  return /_session_([0-9a-f-]{8,})$/i.exec(userId)?.[1];
}

class HistoryConverter {
  /** Deferred tools a tool_reference made available. */
  readonly referencedTools = new Set<string>();
  private readonly toolNames = new Map<string, string>();
  private readonly anthropicTarget: boolean;
  private readonly origin: Pick<AssistantMessage, 'api' | 'provider' | 'model'>;

  constructor(
    private readonly model: Model<Api>,
    requestedModel: string,
  ) {
    this.anthropicTarget = model.api === 'anthropic-messages';
    // Same-model history keeps thinking signatures in pi-ai; anything else is converted by pi-ai
    // for the target (tool ids normalized, foreign reasoning not replayed).
    this.origin = this.anthropicTarget
      ? { api: model.api, provider: model.provider, model: model.id }
      : { ...CLIENT_ORIGIN, model: requestedModel || 'unknown' };
  }

  convert(request: AnthropicRequest): Message[] {
    const out: Message[] = [];
    for (const message of request.messages) {
      if (message.role === 'assistant') {
        const converted = this.assistant(message.content);
        if (converted) out.push(converted);
      } else if (message.role === 'user') {
        out.push(...this.user(message.content));
      }
    }
    return out;
  }

  private assistant(content: string | AssistantContentBlock[]): AssistantMessage | undefined {
    const blocks: (TextContent | ThinkingContent | ToolCall)[] = [];
    if (typeof content === 'string') {
      if (content !== '') blocks.push({ type: 'text', text: content });
    } else {
      for (const block of content) {
        const converted = this.assistantBlock(block);
        if (converted) blocks.push(converted);
      }
    }
    if (blocks.length === 0) return undefined;
    return {
      role: 'assistant',
      content: blocks,
      ...this.origin,
      usage: { ...EMPTY_USAGE, cost: { ...EMPTY_USAGE.cost } },
      stopReason: blocks.some((b) => b.type === 'toolCall') ? 'toolUse' : 'stop',
      timestamp: 0,
    };
  }

  private assistantBlock(block: AssistantContentBlock): TextContent | ThinkingContent | ToolCall | undefined {
    switch (block.type) {
      case 'text':
        return block.text === '' ? undefined : { type: 'text', text: block.text };
      case 'tool_use': {
        const id = toPiToolCallId(block.id, this.model.api);
        this.toolNames.set(id, block.name);
        return { type: 'toolCall', id, name: block.name, arguments: block.input };
      }
      case 'thinking':
        // Only Anthropic can check a signature; other targets would reject or misread it, and
        // replaying reasoning as plain text invites the model to write its thoughts out loud.
        if (!this.anthropicTarget || block.signature === '') return undefined;
        return { type: 'thinking', thinking: block.thinking, thinkingSignature: block.signature };
      case 'redacted_thinking':
        if (!this.anthropicTarget) return undefined;
        return { type: 'thinking', thinking: '', thinkingSignature: block.data, redacted: true };
      case 'server_tool_use':
        return { type: 'text', text: `[Server tool ${block.name} called with ${JSON.stringify(block.input)}]` };
      default:
        return { type: 'text', text: `[${block.type}: ${summarizeServerResult(block.content)}]` };
    }
  }

  private user(content: string | UserContentBlock[]): Message[] {
    if (typeof content === 'string') {
      return content === '' ? [] : [userMessage(content)];
    }
    // pi-ai wants tool results as their own messages right after the assistant's tool calls,
    // and the user's own text after them.
    const results: Message[] = [];
    const rest: (TextContent | ImageContent)[] = [];
    for (const block of content) {
      switch (block.type) {
        case 'tool_result': {
          const result = this.toolResult(block);
          if (result.role === 'toolResult') results.push(result);
          else rest.push(...(result.content as (TextContent | ImageContent)[]));
          break;
        }
        case 'text':
          if (block.text !== '') rest.push({ type: 'text', text: block.text });
          break;
        case 'image':
          rest.push(imageContent(block));
          break;
        case 'document':
          rest.push(...documentContent(block));
          break;
        case 'search_result':
          rest.push(searchResultText(block));
          break;
      }
    }
    if (rest.length > 0) results.push(userMessage(rest));
    return results;
  }

  private toolResult(block: ToolResultBlock): ToolResultMessage | UserMessage {
    const id = toPiToolCallId(block.tool_use_id, this.model.api);
    const content = this.toolResultContent(block.content);
    const toolName = this.toolNames.get(id);
    if (toolName === undefined) {
      // A result for a call the history does not hold: upstreams reject those, so it stays as text.
      return userMessage([{ type: 'text', text: `[Result of tool call ${block.tool_use_id}${block.is_error ? ' (error)' : ''}]` }, ...content]);
    }
    return {
      role: 'toolResult',
      toolCallId: id,
      toolName,
      content: content.length > 0 ? content : [{ type: 'text', text: '(no output)' }],
      isError: block.is_error === true,
      timestamp: 0,
    };
  }

  private toolResultContent(content: string | ToolResultContentBlock[] | undefined): (TextContent | ImageContent)[] {
    if (content === undefined) return [];
    if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
    const out: (TextContent | ImageContent)[] = [];
    for (const block of content) {
      switch (block.type) {
        case 'text':
          if (block.text !== '') out.push({ type: 'text', text: block.text });
          break;
        case 'image':
          out.push(imageContent(block));
          break;
        case 'document':
          out.push(...documentContent(block));
          break;
        case 'search_result':
          out.push(searchResultText(block));
          break;
        case 'tool_reference':
          this.referencedTools.add(block.tool_name);
          out.push({ type: 'text', text: `Tool ${block.tool_name} is now available.` });
          break;
      }
    }
    return out;
  }
}

function userMessage(content: string | (TextContent | ImageContent)[]): UserMessage {
  return { role: 'user', content, timestamp: 0 };
}

/**
 * pi-ai takes base64 images only, and this layer must not fetch: a URL image becomes a note
 * with its URL, which the model can mention or fetch with its own tools.
 */
function imageContent(block: ImageBlock): ImageContent | TextContent {
  const source = block.source;
  switch (source.type) {
    case 'base64':
      return { type: 'image', data: source.data, mimeType: source.media_type };
    case 'url':
      return { type: 'text', text: `[Image: ${source.url}]` };
    case 'file':
      return { type: 'text', text: `[Image file ${source.file_id} not available to this model]` };
  }
}

function documentContent(block: DocumentBlock): (TextContent | ImageContent)[] {
  const title = block.title ? ` "${block.title}"` : '';
  const context = block.context ? `\n${block.context}` : '';
  const source = block.source;
  switch (source.type) {
    case 'text':
      return [{ type: 'text', text: `[Document${title}]${context}\n${source.data}` }];
    case 'content': {
      const inner: (TextContent | ImageContent)[] =
        typeof source.content === 'string'
          ? [{ type: 'text', text: source.content }]
          : source.content.map((b): TextContent | ImageContent => (b.type === 'text' ? { type: 'text', text: b.text } : imageContent(b)));
      return [{ type: 'text', text: `[Document${title}]${context}` }, ...inner];
    }
    case 'url':
      return [{ type: 'text', text: `[Document${title}: ${source.url}]${context}` }];
    case 'base64':
      // pi-ai has no document input: a PDF cannot reach the model.
      return [{ type: 'text', text: `[Document${title} (${source.media_type}) not readable by this model]${context}` }];
    case 'file':
      return [{ type: 'text', text: `[Document file ${source.file_id} not available to this model]${context}` }];
  }
}

function searchResultText(block: SearchResultBlock): TextContent {
  const body = block.content.map((c) => c.text).join('\n');
  return { type: 'text', text: `[Search result "${block.title}" from ${block.source}]\n${body}` };
}

const SERVER_RESULT_LIMIT = 4000;

function summarizeServerResult(content: unknown): string {
  if (Array.isArray(content)) {
    const links = content
      .filter((c): c is { url: string; title?: unknown } => typeof (c as { url?: unknown } | null)?.url === 'string')
      .map((c) => `${typeof c.title === 'string' ? c.title : ''} <${c.url}>`.trim());
    if (links.length > 0) return links.join('; ');
  }
  const json = JSON.stringify(content) ?? '';
  return json.length > SERVER_RESULT_LIMIT ? `${json.slice(0, SERVER_RESULT_LIMIT)}…` : json;
}

/**
 * Client tools only: Anthropic-defined tools (web search, computer use) have no schema the
 * target could use. Deferred tools join once a tool_reference or the tool choice names them,
 * which is when Anthropic would load them too.
 */
function convertTools(tools: ToolDefinition[], referenced: ReadonlySet<string>, choice: ToolChoice | undefined): Tool[] {
  const out: Tool[] = [];
  for (const tool of tools) {
    if (!tool.input_schema || (tool.type !== undefined && tool.type !== 'custom')) continue;
    if (tool.defer_loading && !referenced.has(tool.name) && !(choice?.type === 'tool' && choice.name === tool.name)) continue;
    // OpenAI requires an object schema at the top; JSON Schema objects work in pi-ai as they are.
    const schema = tool.input_schema.type === undefined ? { type: 'object', ...tool.input_schema } : tool.input_schema;
    out.push({ name: tool.name, description: tool.description ?? '', parameters: schema });
  }
  return out;
}

/** A choice naming a tool the target will not see would be rejected: ask for any tool instead. */
function effectiveToolChoice(choice: ToolChoice | undefined, tools: Tool[]): ToolChoice | undefined {
  if (choice?.type !== 'tool' || tools.some((t) => t.name === choice.name)) return choice;
  return { type: 'any', ...(choice.disable_parallel_tool_use !== undefined ? { disable_parallel_tool_use: choice.disable_parallel_tool_use } : {}) };
}
