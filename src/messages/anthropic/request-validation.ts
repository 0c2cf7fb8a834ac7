import { ErrorCode } from '../../errors/error-codes.js';
import { GatewayError } from '../../errors/gateway-error.js';
import {
  ANTHROPIC_EFFORTS,
  type AnthropicEffort,
  type AnthropicRequest,
  type AssistantContentBlock,
  type DocumentBlock,
  type DocumentSource,
  type ImageBlock,
  type ImageSource,
  type MessageParam,
  type SearchResultBlock,
  type TextBlock,
  type ThinkingConfig,
  type ToolChoice,
  type ToolDefinition,
  type ToolResultBlock,
  type ToolResultContentBlock,
  type UserContentBlock,
} from './anthropic-request.js';

/**
 * Validates a parsed JSON body into an {@link AnthropicRequest}, or throws a 400 naming the
 * field path (`messages.3.content.0.type: unknown block type "foo"`). Unknown fields are
 * ignored, like Anthropic does for forward compatibility; wrong types never get past here.
 */
export function validateMessagesRequest(body: unknown): AnthropicRequest {
  return validateRequest(body, true);
}

/** `/v1/messages/count_tokens`: the same body without `max_tokens`. */
export function validateCountTokensRequest(body: unknown): AnthropicRequest {
  return validateRequest(body, false);
}

type Obj = Record<string, unknown>;

function validateRequest(body: unknown, requireMaxTokens: boolean): AnthropicRequest {
  if (!isObj(body)) fail('', 'request body must be a JSON object');
  const request: AnthropicRequest = {
    model: optionalString(body, 'model', 'model') ?? '',
    messages: messages(body.messages),
  };
  if (body.max_tokens !== undefined || requireMaxTokens) {
    request.max_tokens = integer(body.max_tokens, 'max_tokens', 1);
  }
  if (body.system !== undefined) request.system = stringOrTextBlocks(body.system, 'system');
  if (body.tools !== undefined) request.tools = array(body.tools, 'tools').map((t, i) => tool(t, `tools.${i}`));
  if (body.tool_choice !== undefined) request.tool_choice = toolChoice(body.tool_choice, 'tool_choice');
  if (body.temperature !== undefined) request.temperature = number(body.temperature, 'temperature', 0, 2);
  if (body.top_p !== undefined) request.top_p = number(body.top_p, 'top_p', 0, 1);
  if (body.top_k !== undefined) request.top_k = integer(body.top_k, 'top_k', 0);
  if (body.stop_sequences !== undefined) {
    request.stop_sequences = array(body.stop_sequences, 'stop_sequences').map((s, i) => string(s, `stop_sequences.${i}`));
  }
  if (body.stream !== undefined) request.stream = boolean(body.stream, 'stream');
  if (body.metadata !== undefined && body.metadata !== null) {
    const metadata = object(body.metadata, 'metadata');
    request.metadata = {};
    // Anthropic accepts only a string user_id; a number is a client bug we can live with.
    const userId = metadata.user_id;
    if (userId !== undefined && userId !== null) {
      if (typeof userId !== 'string' && typeof userId !== 'number') fail('metadata.user_id', 'must be a string');
      request.metadata.user_id = String(userId);
    }
  }
  if (body.thinking !== undefined && body.thinking !== null) request.thinking = thinking(body.thinking, 'thinking');
  if (body.output_config !== undefined && body.output_config !== null) {
    const config = object(body.output_config, 'output_config');
    request.output_config = {};
    if (config.effort !== undefined && config.effort !== null) {
      request.output_config.effort = effort(config.effort, 'output_config.effort');
    }
  }
  if (body.effort !== undefined && body.effort !== null) request.effort = effort(body.effort, 'effort');
  return request;
}

function messages(value: unknown): MessageParam[] {
  if (value === undefined) fail('messages', 'field required');
  const list = array(value, 'messages');
  if (list.length === 0) fail('messages', 'at least one message is required');
  return list.map((m, i) => message(m, `messages.${i}`));
}

function message(value: unknown, path: string): MessageParam {
  const m = object(value, path);
  const role = m.role;
  if (role === undefined) fail(`${path}.role`, 'field required');
  if (m.content === undefined) fail(`${path}.content`, 'field required');
  switch (role) {
    case 'user':
      return { role: 'user', content: content(m.content, `${path}.content`, userBlock) };
    case 'assistant':
      return { role: 'assistant', content: content(m.content, `${path}.content`, assistantBlock) };
    case 'system':
      return { role: 'system', content: stringOrTextBlocks(m.content, `${path}.content`) };
    default:
      return fail(`${path}.role`, `must be "user", "assistant" or "system", got ${describe(role)}`);
  }
}

function content<T>(value: unknown, path: string, block: (b: Obj, type: string, path: string) => T): string | T[] {
  if (typeof value === 'string') return value;
  return array(value, path).map((b, i) => {
    const at = `${path}.${i}`;
    const o = object(b, at);
    const type = o.type;
    if (typeof type !== 'string') fail(`${at}.type`, type === undefined ? 'field required' : 'must be a string');
    return block(o, type, at);
  });
}

function userBlock(b: Obj, type: string, path: string): UserContentBlock {
  switch (type) {
    case 'text':
      return textBlock(b, path);
    case 'image':
      return imageBlock(b, path);
    case 'document':
      return documentBlock(b, path);
    case 'search_result':
      return searchResultBlock(b, path);
    case 'tool_result':
      return toolResultBlock(b, path);
    case 'tool_use':
    case 'server_tool_use':
    case 'thinking':
    case 'redacted_thinking':
      return fail(`${path}.type`, `"${type}" blocks are only allowed in assistant messages`);
    default:
      return fail(`${path}.type`, `unknown block type ${describe(type)}`);
  }
}

function assistantBlock(b: Obj, type: string, path: string): AssistantContentBlock {
  switch (type) {
    case 'text':
      return textBlock(b, path);
    case 'tool_use':
    case 'server_tool_use':
      return {
        type,
        id: nonEmptyString(b.id, `${path}.id`),
        name: nonEmptyString(b.name, `${path}.name`),
        input: b.input === undefined || b.input === null ? {} : object(b.input, `${path}.input`),
      };
    case 'thinking':
      return {
        type,
        thinking: string(b.thinking, `${path}.thinking`),
        // Signatures are opaque; a missing one only means the block cannot be replayed.
        signature: b.signature === undefined || b.signature === null ? '' : string(b.signature, `${path}.signature`),
      };
    case 'redacted_thinking':
      return { type, data: string(b.data, `${path}.data`) };
    case 'tool_result':
      return fail(`${path}.type`, '"tool_result" blocks are only allowed in user messages');
    default:
      if (type.endsWith('_tool_result')) {
        return { type: type as `${string}_tool_result`, tool_use_id: string(b.tool_use_id, `${path}.tool_use_id`), content: b.content };
      }
      return fail(`${path}.type`, `unknown block type ${describe(type)}`);
  }
}

function textBlock(b: Obj, path: string): TextBlock {
  return { type: 'text', text: string(b.text, `${path}.text`) };
}

function imageBlock(b: Obj, path: string): ImageBlock {
  return { type: 'image', source: imageSource(b.source, `${path}.source`) };
}

function imageSource(value: unknown, path: string): ImageSource {
  const s = object(value, path);
  switch (s.type) {
    case 'base64':
      return {
        type: 'base64',
        media_type: nonEmptyString(s.media_type, `${path}.media_type`),
        data: string(s.data, `${path}.data`),
      };
    case 'url':
      return { type: 'url', url: nonEmptyString(s.url, `${path}.url`) };
    case 'file':
      return { type: 'file', file_id: nonEmptyString(s.file_id, `${path}.file_id`) };
    default:
      return fail(`${path}.type`, `unknown image source type ${describe(s.type)}`);
  }
}

function documentBlock(b: Obj, path: string): DocumentBlock {
  const doc: DocumentBlock = { type: 'document', source: documentSource(b.source, `${path}.source`) };
  const title = optionalString(b, 'title', `${path}.title`);
  if (title !== undefined) doc.title = title;
  const context = optionalString(b, 'context', `${path}.context`);
  if (context !== undefined) doc.context = context;
  return doc;
}

function documentSource(value: unknown, path: string): DocumentSource {
  const s = object(value, path);
  switch (s.type) {
    case 'base64':
    case 'text':
      return {
        type: s.type,
        media_type: typeof s.media_type === 'string' ? s.media_type : s.type === 'text' ? 'text/plain' : 'application/pdf',
        data: string(s.data, `${path}.data`),
      };
    case 'url':
      return { type: 'url', url: nonEmptyString(s.url, `${path}.url`) };
    case 'file':
      return { type: 'file', file_id: nonEmptyString(s.file_id, `${path}.file_id`) };
    case 'content':
      return {
        type: 'content',
        content: content(s.content, `${path}.content`, (block, type, at) => {
          if (type === 'text') return textBlock(block, at);
          if (type === 'image') return imageBlock(block, at);
          return fail(`${at}.type`, `unknown block type ${describe(type)}`);
        }),
      };
    default:
      return fail(`${path}.type`, `unknown document source type ${describe(s.type)}`);
  }
}

function searchResultBlock(b: Obj, path: string): SearchResultBlock {
  return {
    type: 'search_result',
    source: string(b.source, `${path}.source`),
    title: string(b.title, `${path}.title`),
    content: array(b.content, `${path}.content`).map((c, i) => textBlock(object(c, `${path}.content.${i}`), `${path}.content.${i}`)),
  };
}

function toolResultBlock(b: Obj, path: string): ToolResultBlock {
  const result: ToolResultBlock = { type: 'tool_result', tool_use_id: nonEmptyString(b.tool_use_id, `${path}.tool_use_id`) };
  if (b.content !== undefined && b.content !== null) {
    result.content = content(b.content, `${path}.content`, toolResultContentBlock);
  }
  if (b.is_error !== undefined && b.is_error !== null) result.is_error = boolean(b.is_error, `${path}.is_error`);
  return result;
}

function toolResultContentBlock(b: Obj, type: string, path: string): ToolResultContentBlock {
  switch (type) {
    case 'text':
      return textBlock(b, path);
    case 'image':
      return imageBlock(b, path);
    case 'document':
      return documentBlock(b, path);
    case 'search_result':
      return searchResultBlock(b, path);
    case 'tool_reference':
      return { type: 'tool_reference', tool_name: nonEmptyString(b.tool_name, `${path}.tool_name`) };
    default:
      return fail(`${path}.type`, `unknown block type ${describe(type)}`);
  }
}

function stringOrTextBlocks(value: unknown, path: string): string | TextBlock[] {
  return content(value, path, (b, type, at) => {
    if (type !== 'text') fail(`${at}.type`, `must be "text", got ${describe(type)}`);
    return textBlock(b, at);
  });
}

function tool(value: unknown, path: string): ToolDefinition {
  const t = object(value, path);
  const def: ToolDefinition = { name: nonEmptyString(t.name, `${path}.name`) };
  const type = optionalString(t, 'type', `${path}.type`);
  if (type !== undefined) def.type = type;
  const description = optionalString(t, 'description', `${path}.description`);
  if (description !== undefined) def.description = description;
  if (t.input_schema !== undefined && t.input_schema !== null) {
    def.input_schema = object(t.input_schema, `${path}.input_schema`);
  } else if (type === undefined || type === 'custom') {
    fail(`${path}.input_schema`, 'field required');
  }
  if (t.defer_loading !== undefined && t.defer_loading !== null) def.defer_loading = boolean(t.defer_loading, `${path}.defer_loading`);
  return def;
}

function toolChoice(value: unknown, path: string): ToolChoice {
  const c = object(value, path);
  const parallel =
    c.disable_parallel_tool_use === undefined || c.disable_parallel_tool_use === null
      ? {}
      : { disable_parallel_tool_use: boolean(c.disable_parallel_tool_use, `${path}.disable_parallel_tool_use`) };
  switch (c.type) {
    case 'auto':
    case 'any':
      return { type: c.type, ...parallel };
    case 'none':
      return { type: 'none' };
    case 'tool':
      return { type: 'tool', name: nonEmptyString(c.name, `${path}.name`), ...parallel };
    default:
      return fail(`${path}.type`, `must be "auto", "any", "tool" or "none", got ${describe(c.type)}`);
  }
}

function thinking(value: unknown, path: string): ThinkingConfig {
  const t = object(value, path);
  const display = optionalString(t, 'display', `${path}.display`);
  switch (t.type) {
    case 'enabled':
      return { type: 'enabled', budget_tokens: integer(t.budget_tokens, `${path}.budget_tokens`, 0), ...(display ? { display } : {}) };
    case 'adaptive':
      return { type: 'adaptive', ...(display ? { display } : {}) };
    case 'disabled':
      return { type: 'disabled' };
    default:
      return fail(`${path}.type`, `must be "enabled", "adaptive" or "disabled", got ${describe(t.type)}`);
  }
}

function effort(value: unknown, path: string): AnthropicEffort {
  if (typeof value === 'string' && (ANTHROPIC_EFFORTS as readonly string[]).includes(value)) return value as AnthropicEffort;
  return fail(path, `must be one of ${ANTHROPIC_EFFORTS.map((e) => `"${e}"`).join(', ')}, got ${describe(value)}`);
}

// ---- primitives -------------------------------------------------------------

function fail(path: string, message: string): never {
  throw new GatewayError(ErrorCode.BadRequest, path ? `${path}: ${message}` : message);
}

function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function object(value: unknown, path: string): Obj {
  if (!isObj(value)) fail(path, value === undefined ? 'field required' : `must be an object, got ${describe(value)}`);
  return value;
}

function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) fail(path, value === undefined ? 'field required' : `must be an array, got ${describe(value)}`);
  return value;
}

function string(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, value === undefined ? 'field required' : `must be a string, got ${describe(value)}`);
  return value;
}

function nonEmptyString(value: unknown, path: string): string {
  const s = string(value, path);
  if (s.length === 0) fail(path, 'must not be empty');
  return s;
}

function optionalString(o: Obj, key: string, path: string): string | undefined {
  const value = o[key];
  return value === undefined || value === null ? undefined : string(value, path);
}

function boolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, `must be a boolean, got ${describe(value)}`);
  return value;
}

function number(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, `must be a number, got ${describe(value)}`);
  if (value < min || value > max) fail(path, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function integer(value: unknown, path: string, min: number): number {
  if (value === undefined) fail(path, 'field required');
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(path, `must be an integer, got ${describe(value)}`);
  if (value < min) fail(path, `must be at least ${min}, got ${value}`);
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}
