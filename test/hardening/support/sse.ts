import type { AnthropicStreamEvent } from '../../../src/messages/anthropic/anthropic-events.js';

export interface SseFrame {
  event?: string;
  data: string;
}

/** Splits an SSE body into frames; comments (`: ping`) and empty frames are dropped. */
export function parseSse(text: string): SseFrame[] {
  const frames: SseFrame[] = [];
  for (const block of text.replace(/\r\n/g, '\n').split(/\n\n+/)) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (event !== undefined || data.length > 0) frames.push({ ...(event !== undefined ? { event } : {}), data: data.join('\n') });
  }
  return frames;
}

/** The Anthropic events of an SSE body; throws if a frame's data is not JSON or its name disagrees with its type. */
export function anthropicEvents(text: string): AnthropicStreamEvent[] {
  return parseSse(text).map((frame) => {
    const event = JSON.parse(frame.data) as AnthropicStreamEvent;
    if (frame.event !== undefined && frame.event !== event.type) throw new Error(`event: ${frame.event} carries type ${event.type}`);
    return event;
  });
}
