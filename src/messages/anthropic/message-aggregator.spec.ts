import { describe, expect, it } from 'vitest';
import { PiEvents, usage } from '../../../test/fixtures/messages/pi-events.js';
import { ErrorCode } from '../../errors/error-codes.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { AnthropicMessageAggregator } from './message-aggregator.js';

const options = { model: 'claude-sonnet-4-5', emitThinking: true, messageId: 'msg_test' };

function aggregate(pi: PiEvents): AnthropicMessageAggregator {
  const aggregator = new AnthropicMessageAggregator(options);
  pi.events.forEach((e) => aggregator.push(e));
  return aggregator;
}

describe('AnthropicMessageAggregator', () => {
  it('builds the Anthropic message from the same events as the stream', () => {
    const pi = new PiEvents('anthropic-messages')
      .start()
      .thinkingStart(0)
      .thinkingDelta(0, 'hmm')
      .thinkingEnd(0, 'sig')
      .textStart(1)
      .textDelta(1, 'Run')
      .textDelta(1, 'ning.')
      .textEnd(1)
      .toolStart(2, 'call_1|fc_1', 'Bash')
      .toolDelta(2, '{"command":"ls"}')
      .toolEnd(2, { command: 'ls' })
      .done('toolUse', usage(11, 22, 33, 44));
    expect(aggregate(pi).result()).toEqual({
      id: 'msg_test',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 'sig' },
        { type: 'text', text: 'Running.' },
        { type: 'tool_use', id: 'toolu_b64_Y2FsbF8xfGZjXzE', name: 'Bash', input: { command: 'ls' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 11, output_tokens: 22, cache_read_input_tokens: 33, cache_creation_input_tokens: 44 },
    });
  });

  it('throws the upstream error with its status when the stream fails', () => {
    const pi = new PiEvents().start().textStart(0).textDelta(0, 'x').error('429 {"type":"error","error":{"type":"rate_limit_error","message":"slow"}}');
    const aggregator = aggregate(pi);
    expect(() => aggregator.result()).toThrow(GatewayError);
    expect(() => aggregator.result()).toThrow('slow');
    try {
      aggregator.result();
    } catch (err) {
      expect((err as GatewayError).code).toBe(ErrorCode.RateLimited);
    }
  });

  it('throws when the upstream fails before starting', () => {
    expect(() => aggregate(new PiEvents().error('401 Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwx')).result()).toThrow(
      'Upstream rejected the provider credentials: Incorrect API key provided: [REDACTED]',
    );
  });

  it('throws when the stream stopped without a final event', () => {
    expect(() => aggregate(new PiEvents().start().textStart(0).textDelta(0, 'x')).result()).toThrow('Upstream stream ended unexpectedly');
  });

  it('answers a refusal as a message', () => {
    const message = aggregate(new PiEvents().start().error('Provider finish_reason: content_filter')).result();
    expect(message).toMatchObject({ content: [], stop_reason: 'refusal' });
  });
});
