/**
 * Tool-call ids travel through the client: we emit them in `tool_use` and Claude Code sends them
 * back in the next turn's `tool_use`/`tool_result`. Anthropic clients accept only
 * `^[a-zA-Z0-9_-]+$`, while Responses/Codex ids look like `call_x|fc_y` and must reach the
 * upstream unchanged. Valid ids pass as they are; others become a prefix plus their base64url.
 */

const ANTHROPIC_TOOL_ID = /^[a-zA-Z0-9_-]+$/;
const PREFIX = 'toolu_b64_';

export function isAnthropicToolId(id: string): boolean {
  return ANTHROPIC_TOOL_ID.test(id);
}

export function encodeToolId(id: string): string {
  // An id that already starts with the prefix is encoded too, so decoding is never ambiguous.
  if (isAnthropicToolId(id) && !id.startsWith(PREFIX)) return id;
  return PREFIX + Buffer.from(id, 'utf8').toString('base64url');
}

/** The original id for one we encoded; any other id comes back unchanged. */
export function decodeToolId(id: string): string {
  if (!id.startsWith(PREFIX)) return id;
  const body = id.slice(PREFIX.length);
  if (!/^[a-zA-Z0-9_-]*$/.test(body)) return id;
  const decoded = Buffer.from(body, 'base64url').toString('utf8');
  // Only a canonical encoding round-trips; anything else was not made by encodeToolId.
  return encodeToolId(decoded) === id ? decoded : id;
}
