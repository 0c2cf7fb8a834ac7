/**
 * The Anthropic Messages request as Claude Code and the Anthropic SDK send it, after validation.
 * Only the fields the gateway acts on are typed; anything else in the body is ignored.
 */

export type AnthropicEffort = 'low' | 'medium' | 'high' | 'xhigh' | 'max';
export const ANTHROPIC_EFFORTS: readonly AnthropicEffort[] = ['low', 'medium', 'high', 'xhigh', 'max'];

export interface CacheControl {
  type: string;
  ttl?: string;
}

export interface TextBlock {
  type: 'text';
  text: string;
}

export type ImageSource =
  | { type: 'base64'; media_type: string; data: string }
  | { type: 'url'; url: string }
  | { type: 'file'; file_id: string };

export interface ImageBlock {
  type: 'image';
  source: ImageSource;
}

export type DocumentSource =
  | { type: 'base64'; media_type: string; data: string }
  | { type: 'text'; media_type: string; data: string }
  | { type: 'url'; url: string }
  | { type: 'file'; file_id: string }
  | { type: 'content'; content: string | (TextBlock | ImageBlock)[] };

export interface DocumentBlock {
  type: 'document';
  source: DocumentSource;
  title?: string;
  context?: string;
}

export interface SearchResultBlock {
  type: 'search_result';
  source: string;
  title: string;
  content: TextBlock[];
}

/** Inside a tool_result: names a deferred tool the result makes available (tool search). */
export interface ToolReferenceBlock {
  type: 'tool_reference';
  tool_name: string;
}

export type ToolResultContentBlock = TextBlock | ImageBlock | DocumentBlock | SearchResultBlock | ToolReferenceBlock;

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | ToolResultContentBlock[];
  is_error?: boolean;
}

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: Record<string, unknown>;
}

/** A tool Anthropic ran on its side (web search, code execution): history only. */
export interface ServerToolUseBlock {
  type: 'server_tool_use';
  id: string;
  name: string;
  input: Record<string, unknown>;
}

/** `web_search_tool_result`, `web_fetch_tool_result`, `code_execution_tool_result`, ... */
export interface ServerToolResultBlock {
  type: `${string}_tool_result`;
  tool_use_id: string;
  content: unknown;
}

export interface ThinkingBlock {
  type: 'thinking';
  thinking: string;
  signature: string;
}

export interface RedactedThinkingBlock {
  type: 'redacted_thinking';
  data: string;
}

export type UserContentBlock = TextBlock | ImageBlock | DocumentBlock | SearchResultBlock | ToolResultBlock;
export type AssistantContentBlock =
  | TextBlock
  | ToolUseBlock
  | ServerToolUseBlock
  | ServerToolResultBlock
  | ThinkingBlock
  | RedactedThinkingBlock;

export interface UserMessageParam {
  role: 'user';
  content: string | UserContentBlock[];
}

export interface AssistantMessageParam {
  role: 'assistant';
  content: string | AssistantContentBlock[];
}

/** Claude Code's newest models put system text inside `messages`; it is folded into the system prompt. */
export interface SystemMessageParam {
  role: 'system';
  content: string | TextBlock[];
}

export type MessageParam = UserMessageParam | AssistantMessageParam | SystemMessageParam;

export interface ToolDefinition {
  name: string;
  description?: string;
  /** Absent for Anthropic-defined tools (`web_search_20250305`, `bash_20250124`, ...). */
  input_schema?: Record<string, unknown>;
  /** Set for Anthropic-defined tools; `custom` or absent for client tools. */
  type?: string;
  /** Tool search: the tool is only available once a tool_reference names it. */
  defer_loading?: boolean;
}

export type ToolChoice =
  | { type: 'auto'; disable_parallel_tool_use?: boolean }
  | { type: 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'none' }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean };

export type ThinkingConfig =
  | { type: 'enabled'; budget_tokens: number; display?: string }
  | { type: 'disabled' }
  | { type: 'adaptive'; display?: string };

export interface AnthropicRequest {
  /** "" when the client sent none: the provider's default model applies. */
  model: string;
  /** Required by /v1/messages, absent on /v1/messages/count_tokens. */
  max_tokens?: number;
  messages: MessageParam[];
  system?: string | TextBlock[];
  tools?: ToolDefinition[];
  tool_choice?: ToolChoice;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop_sequences?: string[];
  stream?: boolean;
  metadata?: { user_id?: string };
  thinking?: ThinkingConfig;
  output_config?: { effort?: AnthropicEffort };
  /** Older spelling of `output_config.effort`. */
  effort?: AnthropicEffort;
}
