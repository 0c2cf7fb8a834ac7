import type { AnthropicStreamEvent } from './anthropic-events.js';

/** One SSE frame as Anthropic writes it: the event name repeats the payload's `type`. */
export function encodeSseEvent(event: AnthropicStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Several frames in one write. */
export function encodeSseEvents(events: readonly AnthropicStreamEvent[]): string {
  let out = '';
  for (const event of events) out += encodeSseEvent(event);
  return out;
}
