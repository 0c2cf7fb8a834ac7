/**
 * Thinking travels through the client between turns: an Anthropic thinking block (its text and
 * signature, or a redacted block's data) goes out as a `reasoning` item's `encrypted_content`
 * and must come back unchanged, since Anthropic checks the signature against the text. The
 * client must not be able to read it as text: it is carried as base64url of a small JSON
 * record behind a version prefix. OpenAI's own encrypted reasoning has no such prefix, so
 * a decoder tells the two apart and ignores what it did not make.
 */

const PREFIX = 'piapi.r1.';

export interface CarriedThinking {
  /** The pi-ai API that produced it: only a target on the same API can use it. */
  api: string;
  thinking: string;
  signature: string;
  redacted: boolean;
}

export function encodeReasoning(thinking: CarriedThinking): string {
  const record = { a: thinking.api, t: thinking.thinking, s: thinking.signature, r: thinking.redacted ? 1 : 0 };
  return PREFIX + Buffer.from(JSON.stringify(record), 'utf8').toString('base64url');
}

/** The thinking an `encrypted_content` carries, or undefined when piapi did not make it. */
export function decodeReasoning(encrypted: string): CarriedThinking | undefined {
  if (!encrypted.startsWith(PREFIX)) return undefined;
  try {
    const record = JSON.parse(Buffer.from(encrypted.slice(PREFIX.length), 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof record.a !== 'string' || typeof record.t !== 'string' || typeof record.s !== 'string') return undefined;
    return { api: record.a, thinking: record.t, signature: record.s, redacted: record.r === 1 };
  } catch {
    return undefined;
  }
}
