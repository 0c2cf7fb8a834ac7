import { describe, expect, it } from 'vitest';
import { encodeSseEvent, encodeSseEvents } from './sse-encoder.js';

describe('encodeSseEvent', () => {
  it('writes the event name and the JSON data as one frame', () => {
    expect(encodeSseEvent({ type: 'content_block_stop', index: 2 })).toBe('event: content_block_stop\ndata: {"type":"content_block_stop","index":2}\n\n');
  });

  it('keeps newlines inside the data escaped on one line', () => {
    const frame = encodeSseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'a\n\nb' } });
    expect(frame.split('\n').filter((l) => l.startsWith('data: '))).toHaveLength(1);
  });

  it('joins several frames', () => {
    expect(encodeSseEvents([{ type: 'message_stop' }, { type: 'ping' }])).toBe(
      'event: message_stop\ndata: {"type":"message_stop"}\n\nevent: ping\ndata: {"type":"ping"}\n\n',
    );
  });
});
