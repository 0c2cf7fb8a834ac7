import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';

/**
 * The part of an OpenAI Responses API request (`POST /v1/responses`) piapi translates, as Codex
 * and the OpenAI SDK send it. Item and tool types the gateway cannot use are kept as `unknown`
 * entries and left out later, never refused: Codex adds new ones in every release.
 */

export type ResponsesEffort = 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh';
export const RESPONSES_EFFORTS: readonly ResponsesEffort[] = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'];

export type InputContent =
  | { type: 'input_text'; text: string }
  | { type: 'output_text'; text: string }
  | { type: 'refusal'; refusal: string }
  | { type: 'input_image'; image_url?: string; file_id?: string }
  | { type: 'input_file'; filename?: string; file_data?: string; file_url?: string; file_id?: string };

export type MessageRole = 'user' | 'assistant' | 'system' | 'developer';

export interface MessageItem {
  type: 'message';
  role: MessageRole;
  content: InputContent[];
}

export interface FunctionCallItem {
  type: 'function_call';
  call_id: string;
  name: string;
  namespace?: string;
  arguments: string;
}

export interface CustomToolCallItem {
  type: 'custom_tool_call';
  call_id: string;
  name: string;
  namespace?: string;
  input: string;
}

export interface ToolOutputItem {
  type: 'function_call_output' | 'custom_tool_call_output';
  call_id: string;
  /** A string, or content parts (`input_text`, `input_image`). */
  output: string | InputContent[];
}

export interface ReasoningItem {
  type: 'reasoning';
  encrypted_content?: string;
  summary: { type: 'summary_text'; text: string }[];
}

/** A compacted history (compaction.ts): piapi's summary, or OpenAI's own blob, which no target can read. */
export interface CompactionItem {
  type: 'compaction';
  encrypted_content: string;
}

/** Codex's request for a compaction (compaction.ts); meaningful only as the last item. */
export interface CompactionTriggerItem {
  type: 'compaction_trigger';
}

export type InputItem = MessageItem | FunctionCallItem | CustomToolCallItem | ToolOutputItem | ReasoningItem | CompactionItem | CompactionTriggerItem;

export interface FunctionTool {
  type: 'function';
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

/** A freeform tool (Codex's `apply_patch`): the model writes raw text, optionally to a grammar. */
export interface CustomTool {
  type: 'custom';
  name: string;
  description?: string;
  format?: { type: string; syntax?: string; definition?: string };
}

export interface NamespaceTool {
  type: 'namespace';
  name: string;
  description?: string;
  tools: (FunctionTool | CustomTool)[];
}

/** Hosted tools (`web_search`, `file_search`, ...) and anything newer: not callable through a translation. */
export interface OtherTool {
  type: string;
  name?: string;
}

export type ResponsesTool = FunctionTool | CustomTool | NamespaceTool | OtherTool;

export type ResponsesToolChoice = 'auto' | 'none' | 'required' | { type: 'function' | 'custom'; name: string } | { type: string };

export interface ResponsesRequest {
  /** "" when the client sent none: the provider's default model applies. */
  model: string;
  instructions?: string;
  input: InputItem[];
  tools: ResponsesTool[];
  tool_choice?: ResponsesToolChoice;
  parallel_tool_calls?: boolean;
  reasoning?: { effort?: ResponsesEffort; summary?: string };
  max_output_tokens?: number;
  temperature?: number;
  top_p?: number;
  text?: { verbosity?: string; format?: { type: string; name?: string; schema?: Record<string, unknown>; strict?: boolean } };
  stream: boolean;
  store?: boolean;
  include: string[];
  prompt_cache_key?: string;
  metadata?: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

/**
 * A parsed JSON body as a {@link ResponsesRequest}, or a 400 naming the field path. Unknown
 * fields and item types are ignored (the items are dropped); wrong types of known fields are not.
 */
export function validateResponsesRequest(body: unknown): ResponsesRequest {
  if (!isObj(body)) fail('', 'request body must be a JSON object');
  if (body.previous_response_id !== undefined && body.previous_response_id !== null) {
    fail(
      'previous_response_id',
      'not supported: piapi keeps no response state. Send the whole conversation in `input` (with `store: false`, as Codex does)',
    );
  }
  const request: ResponsesRequest = {
    model: optionalString(body.model, 'model') ?? '',
    input: input(body.input),
    tools: body.tools === undefined || body.tools === null ? [] : array(body.tools, 'tools').map((t, i) => tool(t, `tools.${i}`)),
    stream: body.stream === undefined || body.stream === null ? false : boolean(body.stream, 'stream'),
    include: body.include === undefined || body.include === null ? [] : array(body.include, 'include').map((s, i) => string(s, `include.${i}`)),
  };
  const instructions = optionalString(body.instructions, 'instructions');
  if (instructions !== undefined) request.instructions = instructions;
  if (body.tool_choice !== undefined && body.tool_choice !== null) request.tool_choice = toolChoice(body.tool_choice);
  if (body.parallel_tool_calls !== undefined && body.parallel_tool_calls !== null) {
    request.parallel_tool_calls = boolean(body.parallel_tool_calls, 'parallel_tool_calls');
  }
  if (body.reasoning !== undefined && body.reasoning !== null) request.reasoning = reasoning(body.reasoning);
  if (body.max_output_tokens !== undefined && body.max_output_tokens !== null) {
    request.max_output_tokens = integer(body.max_output_tokens, 'max_output_tokens', 1);
  }
  if (body.temperature !== undefined && body.temperature !== null) request.temperature = number(body.temperature, 'temperature', 0, 2);
  if (body.top_p !== undefined && body.top_p !== null) request.top_p = number(body.top_p, 'top_p', 0, 1);
  if (body.text !== undefined && body.text !== null) request.text = text(body.text);
  if (body.store !== undefined && body.store !== null) request.store = boolean(body.store, 'store');
  const cacheKey = optionalString(body.prompt_cache_key, 'prompt_cache_key');
  if (cacheKey !== undefined) request.prompt_cache_key = cacheKey;
  if (isObj(body.metadata)) request.metadata = body.metadata;
  return request;
}

function input(value: unknown): InputItem[] {
  if (typeof value === 'string') return [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: value }] }];
  if (value === undefined || value === null) fail('input', 'field required');
  const items: InputItem[] = [];
  array(value, 'input').forEach((raw, i) => {
    const item = inputItem(raw, `input.${i}`);
    if (item) items.push(item);
  });
  return items;
}

function inputItem(raw: unknown, at: string): InputItem | undefined {
  if (!isObj(raw)) fail(at, 'must be an object');
  // Easy input messages may leave out `type`.
  const type = raw.type === undefined && raw.role !== undefined ? 'message' : raw.type;
  switch (type) {
    case 'message': {
      const role = string(raw.role, `${at}.role`);
      if (role !== 'user' && role !== 'assistant' && role !== 'system' && role !== 'developer') {
        fail(`${at}.role`, `must be one of user, assistant, system, developer (got ${JSON.stringify(role)})`);
      }
      return { type: 'message', role, content: contentList(raw.content, `${at}.content`) };
    }
    case 'function_call': {
      const item: FunctionCallItem = {
        type: 'function_call',
        call_id: string(raw.call_id, `${at}.call_id`),
        name: string(raw.name, `${at}.name`),
        arguments: typeof raw.arguments === 'string' ? raw.arguments : JSON.stringify(raw.arguments ?? {}),
      };
      if (typeof raw.namespace === 'string' && raw.namespace !== '') item.namespace = raw.namespace;
      return item;
    }
    case 'custom_tool_call': {
      const item: CustomToolCallItem = {
        type: 'custom_tool_call',
        call_id: string(raw.call_id, `${at}.call_id`),
        name: string(raw.name, `${at}.name`),
        input: typeof raw.input === 'string' ? raw.input : '',
      };
      if (typeof raw.namespace === 'string' && raw.namespace !== '') item.namespace = raw.namespace;
      return item;
    }
    case 'function_call_output':
    case 'custom_tool_call_output':
      return {
        type,
        call_id: string(raw.call_id, `${at}.call_id`),
        output: typeof raw.output === 'string' ? raw.output : contentList(raw.output ?? '', `${at}.output`),
      };
    case 'reasoning': {
      const item: ReasoningItem = { type: 'reasoning', summary: [] };
      if (typeof raw.encrypted_content === 'string' && raw.encrypted_content !== '') item.encrypted_content = raw.encrypted_content;
      if (Array.isArray(raw.summary)) {
        for (const part of raw.summary) {
          if (isObj(part) && typeof part.text === 'string') item.summary.push({ type: 'summary_text', text: part.text });
        }
      }
      return item;
    }
    case 'compaction':
    case 'compaction_summary':
      // Codex's serde alias: older sessions stored the item under this name.
      return typeof raw.encrypted_content === 'string' ? { type: 'compaction', encrypted_content: raw.encrypted_content } : undefined;
    case 'compaction_trigger':
      return { type: 'compaction_trigger' };
    default:
      // item_reference, web_search_call, context_compaction, ...: nothing a translated target can use.
      return undefined;
  }
}

function contentList(value: unknown, at: string): InputContent[] {
  if (typeof value === 'string') return value === '' ? [] : [{ type: 'input_text', text: value }];
  const out: InputContent[] = [];
  array(value, at).forEach((raw, i) => {
    const path = `${at}.${i}`;
    if (!isObj(raw)) fail(path, 'must be an object');
    switch (raw.type) {
      case 'input_text':
      case 'output_text':
      case 'text':
        out.push({ type: raw.type === 'output_text' ? 'output_text' : 'input_text', text: string(raw.text, `${path}.text`) });
        break;
      case 'refusal':
        out.push({ type: 'refusal', refusal: string(raw.refusal, `${path}.refusal`) });
        break;
      case 'input_image': {
        const image: InputContent = { type: 'input_image' };
        if (typeof raw.image_url === 'string') image.image_url = raw.image_url;
        if (typeof raw.file_id === 'string') image.file_id = raw.file_id;
        out.push(image);
        break;
      }
      case 'input_file': {
        const file: InputContent = { type: 'input_file' };
        for (const key of ['filename', 'file_data', 'file_url', 'file_id'] as const) if (typeof raw[key] === 'string') file[key] = raw[key];
        out.push(file);
        break;
      }
      default:
        break;
    }
  });
  return out;
}

function tool(raw: unknown, at: string): ResponsesTool {
  if (!isObj(raw)) fail(at, 'must be an object');
  const type = string(raw.type, `${at}.type`);
  switch (type) {
    case 'function':
      return functionTool(raw, at);
    case 'custom':
      return customTool(raw, at);
    case 'namespace': {
      const members: (FunctionTool | CustomTool)[] = [];
      const list = raw.tools === undefined ? [] : array(raw.tools, `${at}.tools`);
      list.forEach((member, i) => {
        if (isObj(member) && member.type === 'function') members.push(functionTool(member, `${at}.tools.${i}`));
        else if (isObj(member) && member.type === 'custom') members.push(customTool(member, `${at}.tools.${i}`));
      });
      return { type: 'namespace', name: string(raw.name, `${at}.name`), ...describe(raw), tools: members };
    }
    default:
      return typeof raw.name === 'string' ? { type, name: raw.name } : { type };
  }
}

function functionTool(raw: Obj, at: string): FunctionTool {
  const out: FunctionTool = { type: 'function', name: string(raw.name, `${at}.name`), ...describe(raw) };
  if (raw.parameters !== undefined && raw.parameters !== null) {
    if (!isObj(raw.parameters)) fail(`${at}.parameters`, 'must be a JSON Schema object');
    out.parameters = raw.parameters;
  }
  return out;
}

function customTool(raw: Obj, at: string): CustomTool {
  const out: CustomTool = { type: 'custom', name: string(raw.name, `${at}.name`), ...describe(raw) };
  if (isObj(raw.format) && typeof raw.format.type === 'string') {
    const format: NonNullable<CustomTool['format']> = { type: raw.format.type };
    if (typeof raw.format.syntax === 'string') format.syntax = raw.format.syntax;
    if (typeof raw.format.definition === 'string') format.definition = raw.format.definition;
    out.format = format;
  }
  return out;
}

function describe(raw: Obj): { description?: string } {
  return typeof raw.description === 'string' ? { description: raw.description } : {};
}

function toolChoice(raw: unknown): ResponsesToolChoice {
  if (raw === 'auto' || raw === 'none' || raw === 'required') return raw;
  if (typeof raw === 'string') fail('tool_choice', `must be auto, none, required or an object (got ${JSON.stringify(raw)})`);
  if (!isObj(raw)) fail('tool_choice', 'must be a string or an object');
  const type = string(raw.type, 'tool_choice.type');
  if ((type === 'function' || type === 'custom') && typeof raw.name === 'string') return { type, name: raw.name };
  return { type };
}

function reasoning(raw: unknown): NonNullable<ResponsesRequest['reasoning']> {
  if (!isObj(raw)) fail('reasoning', 'must be an object');
  const out: NonNullable<ResponsesRequest['reasoning']> = {};
  if (raw.effort !== undefined && raw.effort !== null) {
    const effort = string(raw.effort, 'reasoning.effort');
    if (!(RESPONSES_EFFORTS as readonly string[]).includes(effort)) {
      fail('reasoning.effort', `must be one of ${RESPONSES_EFFORTS.join(', ')} (got ${JSON.stringify(effort)})`);
    }
    out.effort = effort as ResponsesEffort;
  }
  if (typeof raw.summary === 'string') out.summary = raw.summary;
  return out;
}

function text(raw: unknown): NonNullable<ResponsesRequest['text']> {
  if (!isObj(raw)) fail('text', 'must be an object');
  const out: NonNullable<ResponsesRequest['text']> = {};
  if (typeof raw.verbosity === 'string') out.verbosity = raw.verbosity;
  if (isObj(raw.format) && typeof raw.format.type === 'string') {
    const format: NonNullable<NonNullable<ResponsesRequest['text']>['format']> = { type: raw.format.type };
    if (typeof raw.format.name === 'string') format.name = raw.format.name;
    if (isObj(raw.format.schema)) format.schema = raw.format.schema;
    if (typeof raw.format.strict === 'boolean') format.strict = raw.format.strict;
    out.format = format;
  }
  return out;
}

function fail(at: string, message: string): never {
  throw new GatewayError(ErrorCode.BadRequest, at === '' ? message : `${at}: ${message}`);
}

function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function array(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value)) fail(at, 'must be an array');
  return value;
}

function string(value: unknown, at: string): string {
  if (typeof value !== 'string') fail(at, value === undefined ? 'field required' : 'must be a string');
  return value;
}

function optionalString(value: unknown, at: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  return string(value, at);
}

function boolean(value: unknown, at: string): boolean {
  if (typeof value !== 'boolean') fail(at, 'must be a boolean');
  return value;
}

function number(value: unknown, at: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) fail(at, `must be a number from ${min} to ${max}`);
  return value;
}

function integer(value: unknown, at: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) fail(at, `must be an integer of at least ${min}`);
  return value;
}
