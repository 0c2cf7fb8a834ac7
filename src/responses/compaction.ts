import type { ResponsesRequest } from './responses-request.js';

/**
 * Codex's remote compaction ("v2"), done by the target model. Codex 0.169 compacts remotely only
 * on its built-in OpenAI provider (or Azure): it posts an ordinary `/responses` request whose
 * last input item is `{"type":"compaction_trigger"}` and needs back exactly one output item
 * `{"type":"compaction","encrypted_content":…}`, which it keeps in place of the history and
 * sends in later requests. Any other answer fails the turn: there is no local fallback on that
 * path. (It no longer calls `/responses/compact`; custom providers compact locally with an
 * ordinary summarization turn, which needs nothing from the gateway.)
 *
 * piapi asks the target model for a handoff summary and carries it in `encrypted_content`
 * behind its own prefix, like thinking in reasoning-codec.ts: base64url keeps it opaque to
 * the client, and OpenAI's real compaction blobs, which only OpenAI can read, are told apart.
 */

const PREFIX = 'piapi.c1.';

/** The instruction appended for the target model in place of the `compaction_trigger` item. */
export const SUMMARY_REQUEST = [
  'Pause the task: the conversation is about to be cut, and another model will pick up the work from your notes alone.',
  'Write those notes now, without calling any tool: what the task is, what has been done and decided, the constraints and',
  "the user's preferences, the exact data (paths, commands, names, values) still needed, and the next steps.",
  'Be brief and structured; answer with the notes only.',
].join(' ');

/** What the target model reads where a compaction item stood. */
export function summaryHandoff(summary: string): string {
  return `Earlier turns of this conversation were compacted; the notes written then follow. Continue the task from them.\n\n${summary}`;
}

export function encodeCompaction(summary: string): string {
  return PREFIX + Buffer.from(summary, 'utf8').toString('base64url');
}

/** The summary an `encrypted_content` carries, or undefined when piapi did not make it. */
export function decodeCompaction(encrypted: string): string | undefined {
  if (!encrypted.startsWith(PREFIX)) return undefined;
  const summary = Buffer.from(encrypted.slice(PREFIX.length), 'base64url').toString('utf8');
  return summary.trim() === '' ? undefined : summary;
}

/** Codex asks for a compaction by ending the input with a trigger item. */
export function isCompactionRequest(request: ResponsesRequest): boolean {
  return request.input.at(-1)?.type === 'compaction_trigger';
}
