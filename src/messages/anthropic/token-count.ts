import type { Api, Context, ImageContent, Model, TextContent, ThinkingContent, ToolCall } from '@mariozechner/pi-ai';
import type { AnthropicRequest } from './anthropic-request.js';
import { requestToContext } from './request-to-context.js';

/**
 * Token count for /v1/messages/count_tokens, computed with a real tokenizer over the context
 * pi-ai would send (so dropped thinking, folded system messages and filtered tools count as
 * they will be sent). o200k_base is OpenAI's; Claude's and Gemini's tokenizers are not
 * available offline, so their counts are o200k scaled by a measured-elsewhere correction that
 * errs high: an underestimate makes Claude Code compact too late. Figures in TOKEN-COUNT.md.
 */

export type TokenizerFamily = 'openai' | 'claude' | 'gemini';

interface FamilyProfile {
  /** Multiplies the o200k count. */
  factor: number;
  /** Tokens per image: images are never decoded here. */
  imageTokens: number;
}

export const FAMILY_PROFILES: Readonly<Record<TokenizerFamily, FamilyProfile>> = {
  // GPT-4o/5 high detail for a 1024x1024 image: 85 + 4 x 170 tiles; screenshots rarely exceed it by much.
  openai: { factor: 1, imageTokens: 765 },
  // Claude's tokenizer yields ~16-30% more tokens than o200k on English and code (more on code);
  // images cost up to ~1600 tokens (1.15 megapixels / 750).
  claude: { factor: 1.25, imageTokens: 1600 },
  // Gemini's SentencePiece vocabulary is close to o200k on English and a little worse on code;
  // images are 258 tokens per 768px tile, four tiles for a typical screenshot.
  gemini: { factor: 1.1, imageTokens: 1032 },
};

/** Chat formats wrap each message in a few role/separator tokens. */
export const MESSAGE_OVERHEAD = 4;
/** Tool definitions are rendered with some framing around name, description and schema. */
export const TOOL_OVERHEAD = 8;
/** Priming of the reply plus the system prompt's own wrapper. */
export const REQUEST_OVERHEAD = 7;

export type TokenCountTarget = Pick<Model<Api>, 'api' | 'id'> & Partial<Model<Api>>;

export function tokenizerFamily(target: Pick<Model<Api>, 'api' | 'id'>): TokenizerFamily {
  const id = target.id.toLowerCase();
  if (target.api === 'anthropic-messages' || id.includes('claude')) return 'claude';
  if (target.api === 'google-generative-ai' || target.api === 'google-vertex' || id.includes('gemini') || id.includes('gemma')) {
    return 'gemini';
  }
  return 'openai';
}

export async function countTokens(request: AnthropicRequest, target: TokenCountTarget): Promise<number> {
  const count = await loadCounter();
  const model: Model<Api> = {
    id: target.id,
    name: target.id,
    api: target.api,
    provider: target.provider ?? 'unknown',
    baseUrl: target.baseUrl ?? '',
    reasoning: target.reasoning ?? false,
    input: target.input ?? ['text', 'image'],
    cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    contextWindow: target.contextWindow ?? 0,
    maxTokens: 0,
  };
  const { context } = requestToContext(request, { model, reasoning: undefined });
  const profile = FAMILY_PROFILES[tokenizerFamily(target)];
  return Math.ceil(countContext(context, count, profile.imageTokens) * profile.factor);
}

/** The o200k token count of a pi-ai context, plus framing overheads. */
export function countContext(context: Context, count: (text: string) => number, imageTokens: number): number {
  let total = REQUEST_OVERHEAD;
  if (context.systemPrompt) total += MESSAGE_OVERHEAD + count(context.systemPrompt);
  for (const message of context.messages) {
    total += MESSAGE_OVERHEAD;
    if (message.role === 'user' && typeof message.content === 'string') {
      total += count(message.content);
      continue;
    }
    if (message.role === 'toolResult') total += count(message.toolName);
    for (const block of message.content as (TextContent | ImageContent | ThinkingContent | ToolCall)[]) {
      switch (block.type) {
        case 'text':
          total += count(block.text);
          break;
        case 'image':
          total += imageTokens;
          break;
        case 'toolCall':
          total += count(block.name) + count(JSON.stringify(block.arguments));
          break;
        case 'thinking':
          // Replayed reasoning is not part of the prompt: Anthropic strips earlier turns' thinking
          // from the context window, and other targets never receive it.
          break;
      }
    }
  }
  for (const tool of context.tools ?? []) {
    total += TOOL_OVERHEAD + count(tool.name) + count(tool.description) + count(JSON.stringify(tool.parameters));
  }
  return total;
}

type Counter = (text: string) => number;
let counter: Promise<Counter> | undefined;

/** The o200k tables take ~200 ms to load: once, on first use, never at startup. */
function loadCounter(): Promise<Counter> {
  counter ??= import('gpt-tokenizer/encoding/o200k_base').then((m) => memoized((text) => m.countTokens(text, NO_SPECIAL)));
  return counter;
}

/** Text that merely looks like a special token is counted as text, never rejected. */
const NO_SPECIAL = { disallowedSpecial: new Set<string>() };

/** Claude Code resends the whole history every turn: long strings are counted once. */
const MEMO_MIN_LENGTH = 512;
const MEMO_MAX_CHARS = 64 * 1024 * 1024;

function memoized(count: Counter): Counter {
  const memo = new Map<string, number>();
  let chars = 0;
  return (text) => {
    if (text.length < MEMO_MIN_LENGTH) return count(text);
    const known = memo.get(text);
    if (known !== undefined) {
      // Re-insert: Map order then doubles as least-recently-used order.
      memo.delete(text);
      memo.set(text, known);
      return known;
    }
    const n = count(text);
    memo.set(text, n);
    chars += text.length;
    for (const [key] of memo) {
      if (chars <= MEMO_MAX_CHARS) break;
      memo.delete(key);
      chars -= key.length;
    }
    return n;
  };
}
