import type { ResponsesStreamEvent } from './response-encoder.js';

/**
 * The JSON of a request's `tools`, which `response.created`, `.in_progress` and `.completed`
 * echo as OpenAI does (Codex sends ~30 KB of them). The tools array is the request's parsed
 * member, shared by every request that sent the same bytes (repeated-members.ts): serialized
 * once, not three times per request.
 */
const toolsJson = new WeakMap<object, string>();

/** SSE frames as OpenAI writes them: the event name repeats the payload's `type`. */
export function encodeResponsesEvents(events: readonly ResponsesStreamEvent[]): string {
  let out = '';
  for (const event of events) out += `event: ${event.type}\ndata: ${eventJson(event)}\n\n`;
  return out;
}

function eventJson(event: ResponsesStreamEvent): string {
  const response = (event as { response?: { tools?: unknown } }).response;
  const tools = response?.tools;
  if (!Array.isArray(tools) || tools.length === 0) return JSON.stringify(event);
  let json = toolsJson.get(tools);
  if (json === undefined) toolsJson.set(tools, (json = JSON.stringify(tools)));
  // The same object with `tools` last; JSON readers do not care about member order.
  const { response: whole, ...rest } = event as unknown as { response: Record<string, unknown> };
  const { tools: _echoed, ...others } = whole;
  const head = JSON.stringify(rest);
  const body = JSON.stringify(others);
  return `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"response":${body.slice(0, -1)}${body.length > 2 ? ',' : ''}"tools":${json}}}`;
}
