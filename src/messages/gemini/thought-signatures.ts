/**
 * Gemini 3 checks thought signatures on the function calls of the current turn: each step's
 * first function call must carry the `thoughtSignature` the model gave it, or the API answers
 * 400. Clients of the translated routes (Claude Code's tool_use blocks, Codex's function_call
 * items) have nowhere to keep a Gemini signature, so their history comes back without one.
 * Google documents a stand-in for function calls that did not come from this model's answer,
 * which skips the check (at some cost to the model's reasoning): piapi puts it on each step
 * whose function calls have no signature, and leaves signatures that are there alone.
 * https://ai.google.dev/gemini-api/docs/thought-signatures
 */

export const STAND_IN_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

interface Part {
  functionCall?: unknown;
  thoughtSignature?: string;
}

interface Content {
  role?: string;
  parts?: Part[];
}

/** Models that reject function calls without thought signatures. */
export function requiresThoughtSignatures(modelId: string): boolean {
  return /(^|\/)gemini-3/.test(modelId);
}

/** The contents, with the stand-in on the first function call of each model step that has none signed. */
export function withThoughtSignatures(contents: readonly unknown[]): unknown[] {
  return contents.map((item) => {
    const content = item as Content;
    if (content.role !== 'model' || !Array.isArray(content.parts)) return item;
    const calls = content.parts.filter((part) => part.functionCall !== undefined);
    if (calls.length === 0 || calls.some((part) => part.thoughtSignature)) return item;
    const first = content.parts.indexOf(calls[0]);
    const parts = content.parts.map((part, i) => (i === first ? { ...part, thoughtSignature: STAND_IN_THOUGHT_SIGNATURE } : part));
    return { ...content, parts };
  });
}
