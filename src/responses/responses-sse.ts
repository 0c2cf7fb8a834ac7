import type { ResponsesStreamEvent } from './response-encoder.js';

/** SSE frames as OpenAI writes them: the event name repeats the payload's `type`. */
export function encodeResponsesEvents(events: readonly ResponsesStreamEvent[]): string {
  let out = '';
  for (const event of events) out += `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
  return out;
}
