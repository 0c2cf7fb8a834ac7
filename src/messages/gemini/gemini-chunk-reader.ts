import {
  calculateCost,
  type Api,
  type AssistantMessage,
  type AssistantMessageEventStream,
  type Model,
  type TextContent,
  type ThinkingContent,
  type ToolCall,
} from '@mariozechner/pi-ai';
import type { GeminiChunk, GeminiError, GeminiPart } from './gemini-wire.js';
import { isThinkingPart, retainThoughtSignature } from './pi-ai-google.js';
import type { ReasoningUsage } from '../reasoning-usage.js';

/** The finish reasons of an answer that ended normally; any other one fails it. */
const STOP_REASONS: ReadonlyMap<string, 'stop' | 'length'> = new Map([
  ['STOP', 'stop'],
  ['MAX_TOKENS', 'length'],
]);

let toolCallCounter = 0;

/**
 * Turns the chunks of a Gemini stream into pi-ai events on `output`, as pi-ai 0.73's provider
 * does (providers/google.js), and checks what that provider cannot see through `@google/genai`:
 * - a chunk that is Google's error body (`{"error":{…}}`, what the API sends when an answer
 *   fails midway) is an error: the SDK turns it into an empty response and the answer ended as
 *   a complete one;
 * - a stream that ends before a candidate has a `finishReason` (set only once the model has
 *   stopped) was cut: the provider ended it as a complete answer too;
 * - a finish reason other than STOP and MAX_TOKENS (SAFETY, RECITATION, MALFORMED_FUNCTION_CALL…)
 *   is an error that names it (the provider said "An unknown error occurred").
 */
export class GeminiChunkReader {
  private current: TextContent | ThinkingContent | undefined;
  private finishReason: string | undefined;
  private blockReason: string | undefined;

  constructor(
    private readonly output: AssistantMessage,
    private readonly stream: AssistantMessageEventStream,
    private readonly model: Model<Api>,
  ) {}

  /** One parsed `data:` payload; throws on an error chunk. */
  push(chunk: GeminiChunk | GeminiError): void {
    if (isGeminiError(chunk)) {
      // @google/genai's wording for an error it does catch in a stream (upstream-error.ts reads it).
      throw new Error(`got status: ${chunk.error.status ?? chunk.error.code ?? 'UNKNOWN'}. ${JSON.stringify(chunk)}`);
    }
    const { output } = this;
    output.responseId ||= chunk.responseId;
    const candidate = chunk.candidates?.[0];
    for (const part of candidate?.content?.parts ?? []) {
      if (part.text !== undefined) this.text(part.text, part);
      if (part.functionCall) this.toolCall(part.functionCall, part.thoughtSignature);
    }
    if (candidate?.finishReason) {
      this.finishReason = candidate.finishReason;
      output.stopReason = STOP_REASONS.get(candidate.finishReason) ?? 'error';
      if (output.content.some((b) => b.type === 'toolCall')) output.stopReason = 'toolUse';
    }
    this.blockReason ??= chunk.promptFeedback?.blockReason;
    const usage = chunk.usageMetadata;
    if (usage) {
      const counted: ReasoningUsage = {
        input: (usage.promptTokenCount || 0) - (usage.cachedContentTokenCount || 0),
        output: (usage.candidatesTokenCount || 0) + (usage.thoughtsTokenCount || 0),
        cacheRead: usage.cachedContentTokenCount || 0,
        cacheWrite: 0,
        totalTokens: usage.totalTokenCount || 0,
        cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
        reasoning: usage.thoughtsTokenCount || 0,
      };
      output.usage = counted;
      calculateCost(this.model, output.usage);
    }
  }

  /** The stream has ended: closes the open block; throws unless the answer was finished. */
  end(): void {
    this.closeBlock();
    if (this.blockReason) throw new Error(`Gemini blocked the prompt: promptFeedback.blockReason ${this.blockReason}`);
    if (this.finishReason === undefined) throw new Error('Gemini stream ended before a candidate had a finishReason');
    // pi-ai's wording for chat completions, which isRefusal() reads (SAFETY, PROHIBITED_CONTENT).
    if (!STOP_REASONS.has(this.finishReason)) throw new Error(`Provider finish_reason: ${this.finishReason}`);
  }

  private text(text: string, part: GeminiPart): void {
    const thinking = isThinkingPart(part);
    const { output, stream } = this;
    let block = this.current;
    if (!block || (thinking ? block.type !== 'thinking' : block.type !== 'text')) {
      this.closeBlock();
      block = thinking ? { type: 'thinking', thinking: '', thinkingSignature: undefined } : { type: 'text', text: '' };
      output.content.push(block);
      this.current = block;
      stream.push({ type: thinking ? 'thinking_start' : 'text_start', contentIndex: this.index(), partial: output });
    }
    if (block.type === 'thinking') {
      block.thinking += text;
      block.thinkingSignature = retainThoughtSignature(block.thinkingSignature, part.thoughtSignature);
      stream.push({ type: 'thinking_delta', contentIndex: this.index(), delta: text, partial: output });
    } else {
      block.text += text;
      block.textSignature = retainThoughtSignature(block.textSignature, part.thoughtSignature);
      stream.push({ type: 'text_delta', contentIndex: this.index(), delta: text, partial: output });
    }
  }

  private toolCall(call: NonNullable<GeminiPart['functionCall']>, thoughtSignature: string | undefined): void {
    this.closeBlock();
    const { output, stream } = this;
    // Gemini sends ids only for some models: made up when missing or repeated, as pi-ai does.
    const taken = call.id !== undefined && output.content.some((b) => b.type === 'toolCall' && b.id === call.id);
    const id = !call.id || taken ? `${call.name}_${Date.now()}_${++toolCallCounter}` : call.id;
    const toolCall: ToolCall = {
      type: 'toolCall',
      id,
      name: call.name || '',
      arguments: call.args ?? {},
      ...(thoughtSignature && { thoughtSignature }),
    };
    output.content.push(toolCall);
    const contentIndex = this.index();
    stream.push({ type: 'toolcall_start', contentIndex, partial: output });
    stream.push({ type: 'toolcall_delta', contentIndex, delta: JSON.stringify(toolCall.arguments), partial: output });
    stream.push({ type: 'toolcall_end', contentIndex, toolCall, partial: output });
  }

  private closeBlock(): void {
    const block = this.current;
    if (!block) return;
    this.current = undefined;
    const contentIndex = this.output.content.lastIndexOf(block);
    if (block.type === 'text') this.stream.push({ type: 'text_end', contentIndex, content: block.text, partial: this.output });
    else this.stream.push({ type: 'thinking_end', contentIndex, content: block.thinking, partial: this.output });
  }

  private index(): number {
    return this.output.content.length - 1;
  }
}

function isGeminiError(chunk: GeminiChunk | GeminiError): chunk is GeminiError {
  const error = (chunk as Partial<GeminiError>).error;
  return typeof error === 'object' && error !== null;
}
