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
import type { AnthropicRequest, ToolChoice } from '../messages/anthropic/anthropic-request.js';
import { payloadPatcher } from '../messages/anthropic/payload-patch.js';
import { toPiToolCallId } from '../messages/anthropic/request-to-context.js';
import { encodeToolId, isAnthropicToolId } from '../messages/anthropic/tool-id-codec.js';
import { decodeCompaction, SUMMARY_REQUEST, summaryHandoff } from './compaction.js';
import { decodeReasoning } from './reasoning-codec.js';
import type { InputContent, InputItem, ResponsesRequest } from './responses-request.js';
import { ToolCatalog } from './tool-catalog.js';

export interface ContextTarget {
  model: Model<Api>;
  /** From the model map; undefined for no reasoning. */
  reasoning: ThinkingLevel | undefined;
}

export interface ResponsesPiRequest {
  context: Context;
  /** Everything but `apiKey`, `signal` and `headers`, which the caller adds. */
  options: SimpleStreamOptions;
  /** The client's tools under the names the target sees, to turn calls back into client items. */
  tools: ToolCatalog;
  /** `reasoning.summary` was asked for: thinking is shown as summary text. */
  emitSummary: boolean;
  /** `include: ["reasoning.encrypted_content"]`: thinking the target can replay goes back to the client. */
  emitEncrypted: boolean;
}

/** Identity of assistant history for targets that cannot replay it as their own. */
const CLIENT_ORIGIN = { api: 'openai-responses', provider: 'responses-client' } as const;

/** APIs whose reasoning models reject `temperature` (as in the messages translation). */
const NO_TEMPERATURE_WHEN_REASONING: ReadonlySet<string> = new Set(['openai-responses', 'azure-openai-responses', 'openai-codex-responses']);
const RESPONSES_APIS: ReadonlySet<string> = new Set(['openai-responses', 'azure-openai-responses', 'openai-codex-responses']);

const EMPTY_USAGE = {
  input: 0,
  output: 0,
  cacheRead: 0,
  cacheWrite: 0,
  totalTokens: 0,
  cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
} as const;

/** The effort fields of the messages model map, from a Responses request (`minimal` has no key of its own: it counts as low). */
export function effortSource(request: ResponsesRequest): Pick<AnthropicRequest, 'model' | 'thinking' | 'output_config'> {
  const effort = request.reasoning?.effort;
  if (effort === undefined) return { model: request.model };
  if (effort === 'none') return { model: request.model, thinking: { type: 'disabled' } };
  return { model: request.model, output_config: { effort: effort === 'minimal' ? 'low' : effort } };
}

/** Maps a validated Responses request to pi-ai's context and stream options for the target model. */
export function responsesToContext(request: ResponsesRequest, target: ContextTarget): ResponsesPiRequest {
  const { model } = target;
  const tools = new ToolCatalog(request.tools);
  const system: string[] = [];
  if (request.instructions !== undefined && request.instructions.trim() !== '') system.push(request.instructions);
  const converter = new HistoryConverter(model, request.model, tools);
  const messages = converter.convert(request.input, system);

  const choice = toolChoiceOf(request, tools);
  const formatNote = jsonFormatNote(request, model.api);
  if (formatNote) system.push(formatNote);

  const context: Context = { messages };
  if (system.length > 0) context.systemPrompt = system.join('\n\n');
  const piTools: Tool[] = tools.targetTools();
  if (piTools.length > 0 && choice?.type !== 'none') context.tools = piTools;

  const forcesTool = choice?.type === 'any' || choice?.type === 'tool';
  const reasoning = model.api === 'anthropic-messages' && forcesTool ? undefined : target.reasoning;

  const options: SimpleStreamOptions = {};
  if (request.max_output_tokens !== undefined) {
    options.maxTokens = model.maxTokens > 0 ? Math.min(request.max_output_tokens, model.maxTokens) : request.max_output_tokens;
  }
  if (reasoning !== undefined) options.reasoning = reasoning;
  if (request.temperature !== undefined && !(model.reasoning && NO_TEMPERATURE_WHEN_REASONING.has(model.api))) {
    options.temperature = request.temperature;
  }
  if (request.prompt_cache_key !== undefined) options.sessionId = request.prompt_cache_key;
  const patchers = [
    payloadPatcher(model.api, { toolChoice: choice?.type === 'none' ? undefined : choice, topP: request.top_p }),
    textPatcher(request, model.api),
  ].filter((p) => p !== undefined);
  if (patchers.length > 0) {
    options.onPayload = (payload) => {
      let current = payload;
      for (const patch of patchers) current = patch(current) ?? current;
      return current;
    };
  }
  return {
    context,
    options,
    tools,
    emitSummary: request.reasoning?.summary !== undefined && request.reasoning.summary !== 'none',
    emitEncrypted: request.include.includes('reasoning.encrypted_content'),
  };
}

class HistoryConverter {
  private readonly anthropicTarget: boolean;
  private readonly origin: Pick<AssistantMessage, 'api' | 'provider' | 'model'>;
  /** Call id (as pi-ai sees it) → the target's tool name. */
  private readonly callNames = new Map<string, string>();
  private pending: AssistantMessage | undefined;
  private readonly out: Message[] = [];

  constructor(
    private readonly model: Model<Api>,
    requestedModel: string,
    private readonly tools: ToolCatalog,
  ) {
    this.anthropicTarget = model.api === 'anthropic-messages';
    // Anthropic history is marked as the target's own so pi-ai replays its thinking signatures;
    // anything else is converted by pi-ai as another model's (tool ids normalized, no reasoning).
    this.origin = this.anthropicTarget
      ? { api: model.api, provider: model.provider, model: model.id }
      : { ...CLIENT_ORIGIN, model: requestedModel || 'unknown' };
  }

  /** The messages; system and developer messages before the conversation starts go into `system`. */
  convert(items: InputItem[], system: string[]): Message[] {
    for (const [index, item] of items.entries()) {
      switch (item.type) {
        case 'message':
          if (item.role === 'system' || item.role === 'developer') {
            const text = plainText(item.content);
            if (text.trim() === '') break;
            if (this.out.length === 0 && !this.pending) system.push(text);
            else this.user([{ type: 'text', text }]);
          } else if (item.role === 'assistant') {
            for (const part of item.content) {
              const text = part.type === 'refusal' ? part.refusal : part.type === 'output_text' || part.type === 'input_text' ? part.text : '';
              if (text !== '') this.assistant().content.push({ type: 'text', text });
            }
          } else {
            const content = userContent(item.content);
            if (content.length > 0) this.user(content);
          }
          break;
        case 'reasoning': {
          const thinking = this.replayable(item.encrypted_content);
          if (thinking) this.assistant().content.push(thinking);
          break;
        }
        case 'function_call':
        case 'custom_tool_call': {
          const id = this.piCallId(item.call_id);
          const name = this.tools.targetName(item.name, item.namespace);
          this.callNames.set(id, name);
          const args = item.type === 'custom_tool_call' ? { input: item.input } : parseArguments(item.arguments);
          const call: ToolCall = { type: 'toolCall', id, name, arguments: args };
          const message = this.assistant();
          message.content.push(call);
          message.stopReason = 'toolUse';
          break;
        }
        case 'function_call_output':
        case 'custom_tool_call_output':
          this.toolResult(item.call_id, item.output);
          break;
        case 'compaction': {
          // OpenAI's own blobs cannot be read by anyone else: that history is lost to a translated target.
          const summary = decodeCompaction(item.encrypted_content);
          if (summary !== undefined) this.user([{ type: 'text', text: summaryHandoff(summary) }]);
          break;
        }
        case 'compaction_trigger':
          // Tools stay offered: Anthropic refuses a history with tool calls and no tools.
          if (index === items.length - 1) this.user([{ type: 'text', text: SUMMARY_REQUEST }]);
          break;
      }
    }
    this.flush();
    return this.out;
  }

  private replayable(encrypted: string | undefined): ThinkingContent | undefined {
    if (encrypted === undefined) return undefined;
    const carried = decodeReasoning(encrypted);
    // Only Anthropic can check its signatures; no other target gets thinking back.
    if (!carried || !this.anthropicTarget || carried.api !== 'anthropic-messages' || carried.signature === '') return undefined;
    return carried.redacted
      ? { type: 'thinking', thinking: '', thinkingSignature: carried.signature, redacted: true }
      : { type: 'thinking', thinking: carried.thinking, thinkingSignature: carried.signature };
  }

  /** Anthropic takes `^[a-zA-Z0-9_-]+$` ids only: others (`call_x|fc_y`) go out encoded, the same in a call and its result. */
  private piCallId(callId: string): string {
    const id = toPiToolCallId(callId, this.model.api);
    return this.anthropicTarget && !isAnthropicToolId(id) ? encodeToolId(id) : id;
  }

  private toolResult(callId: string, output: string | InputContent[]): void {
    this.flush();
    const id = this.piCallId(callId);
    const content = typeof output === 'string' ? (output === '' ? [] : [{ type: 'text' as const, text: output }]) : userContent(output);
    const toolName = this.callNames.get(id);
    if (toolName === undefined) {
      // A result for a call the history does not hold: upstreams reject those, so it stays as text.
      this.user([{ type: 'text', text: `[Result of tool call ${callId}]` }, ...content]);
      return;
    }
    const result: ToolResultMessage = {
      role: 'toolResult',
      toolCallId: id,
      toolName,
      content: content.length > 0 ? content : [{ type: 'text', text: '(no output)' }],
      isError: false,
      timestamp: 0,
    };
    this.out.push(result);
  }

  private user(content: (TextContent | ImageContent)[]): void {
    this.flush();
    const message: UserMessage = { role: 'user', content, timestamp: 0 };
    this.out.push(message);
  }

  private assistant(): AssistantMessage {
    this.pending ??= {
      role: 'assistant',
      content: [],
      ...this.origin,
      usage: { ...EMPTY_USAGE, cost: { ...EMPTY_USAGE.cost } },
      stopReason: 'stop',
      timestamp: 0,
    };
    return this.pending;
  }

  private flush(): void {
    if (this.pending && this.pending.content.length > 0) this.out.push(this.pending);
    this.pending = undefined;
  }
}

function plainText(content: InputContent[]): string {
  return content
    .map((c) => (c.type === 'input_text' || c.type === 'output_text' ? c.text : c.type === 'refusal' ? c.refusal : ''))
    .filter((t) => t !== '')
    .join('\n');
}

function userContent(content: InputContent[]): (TextContent | ImageContent)[] {
  const out: (TextContent | ImageContent)[] = [];
  for (const part of content) {
    switch (part.type) {
      case 'input_text':
      case 'output_text':
        if (part.text !== '') out.push({ type: 'text', text: part.text });
        break;
      case 'refusal':
        if (part.refusal !== '') out.push({ type: 'text', text: part.refusal });
        break;
      case 'input_image':
        out.push(imageContent(part.image_url, part.file_id));
        break;
      case 'input_file':
        out.push({ type: 'text', text: `[File ${part.filename ?? part.file_id ?? part.file_url ?? '(unnamed)'} not readable by this model]` });
        break;
    }
  }
  return out;
}

/** pi-ai takes base64 images only, and this layer must not fetch: a URL image becomes a note. */
function imageContent(url: string | undefined, fileId: string | undefined): ImageContent | TextContent {
  const data = url === undefined ? undefined : /^data:([\w.+-]+\/[\w.+-]+);base64,(.*)$/s.exec(url);
  if (data) return { type: 'image', mimeType: data[1], data: data[2] };
  if (url !== undefined) return { type: 'text', text: `[Image: ${url}]` };
  return { type: 'text', text: `[Image file ${fileId ?? ''} not available to this model]` };
}

function parseArguments(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The Responses tool choice in the messages translation's terms (shared `payloadPatcher`). */
function toolChoiceOf(request: ResponsesRequest, tools: ToolCatalog): ToolChoice | undefined {
  const raw = request.tool_choice;
  const noParallel = request.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
  if (raw === undefined || raw === 'auto') return raw === undefined && request.parallel_tool_calls !== false ? undefined : { type: 'auto', ...noParallel };
  if (raw === 'none') return { type: 'none' };
  if (raw === 'required') return { type: 'any', ...noParallel };
  if ((raw.type === 'function' || raw.type === 'custom') && 'name' in raw) {
    const name = tools.targetName(raw.name, undefined);
    return tools.has(name) ? { type: 'tool', name, ...noParallel } : { type: 'any', ...noParallel };
  }
  // allowed_tools, hosted tool choices: let the model choose.
  return { type: 'auto', ...noParallel };
}

type PayloadPatch = (payload: unknown) => unknown;

/** `text.format` (JSON output) and `text.verbosity`, where the target API has them. */
function textPatcher(request: ResponsesRequest, api: Api): PayloadPatch | undefined {
  const format = request.text?.format;
  const verbosity = request.text?.verbosity;
  const json = format && (format.type === 'json_schema' || format.type === 'json_object') ? format : undefined;
  if (RESPONSES_APIS.has(api)) {
    if (!json && !verbosity) return undefined;
    return patchObject((p) => {
      p.text = { ...(p.text as object | undefined), ...(json ? { format: json } : {}), ...(verbosity ? { verbosity } : {}) };
    });
  }
  if (api === 'openai-completions' && json) {
    return patchObject((p) => {
      p.response_format =
        json.type === 'json_object'
          ? { type: 'json_object' }
          : { type: 'json_schema', json_schema: { name: json.name ?? 'response', schema: json.schema ?? {}, ...(json.strict !== undefined ? { strict: json.strict } : {}) } };
    });
  }
  return undefined;
}

/** Targets without a JSON output mode get the schema as an instruction instead. */
function jsonFormatNote(request: ResponsesRequest, api: Api): string | undefined {
  const format = request.text?.format;
  if (!format || (format.type !== 'json_schema' && format.type !== 'json_object')) return undefined;
  if (RESPONSES_APIS.has(api) || api === 'openai-completions') return undefined;
  if (format.type === 'json_object') return 'Answer with a single JSON object and nothing else.';
  return `Answer with a single JSON value matching this JSON Schema, and nothing else:\n${JSON.stringify(format.schema ?? {})}`;
}

function patchObject(patch: (p: Record<string, unknown>) => void): PayloadPatch {
  return (payload) => {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
    const copy = { ...(payload as Record<string, unknown>) };
    patch(copy);
    return copy;
  };
}

