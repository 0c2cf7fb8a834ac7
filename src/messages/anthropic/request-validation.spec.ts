import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLAUDE_CODE_FIXTURES, claudeCodeBody } from '../../../test/fixtures/messages/claude-code-fixtures.js';
import { ErrorCode } from '../../errors/error-codes.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { validateCountTokensRequest, validateMessagesRequest } from './request-validation.js';

const minimal = { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] };

function errorOf(body: unknown): string {
  try {
    validateMessagesRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe(ErrorCode.BadRequest);
    return (err as GatewayError).message;
  }
  throw new Error('expected a validation error');
}

describe('validateMessagesRequest', () => {
  it.each(CLAUDE_CODE_FIXTURES)('accepts the real Claude Code request %s', (name) => {
    const request = validateMessagesRequest(claudeCodeBody(name));
    expect(request.model).toBe('claude-opus-5-5');
    expect(request.max_tokens).toBe(128000);
    expect(request.thinking).toEqual({ type: 'adaptive', display: 'omitted' });
    expect(request.output_config).toEqual({ effort: 'medium' });
  });

  it('keeps a role "system" message inside messages', () => {
    const request = validateMessagesRequest(claudeCodeBody('tool-2'));
    expect(request.messages[1]).toMatchObject({ role: 'system' });
  });

  it('ignores fields it does not know', () => {
    const request = validateMessagesRequest({ ...minimal, context_management: { edits: [] }, brand_new: 1 });
    expect(request).not.toHaveProperty('brand_new');
  });

  it('turns a missing model into the empty string', () => {
    const { model: _model, ...body } = minimal;
    expect(validateMessagesRequest(body).model).toBe('');
  });

  it('requires max_tokens', () => {
    const { max_tokens: _max, ...body } = minimal;
    expect(errorOf(body)).toBe('max_tokens: field required');
  });

  it('does not require max_tokens for count_tokens', () => {
    const { max_tokens: _max, ...body } = minimal;
    expect(validateCountTokensRequest(body).max_tokens).toBeUndefined();
  });

  it('names the path of an unknown block type', () => {
    const messages = [
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
      { role: 'user', content: 'c' },
      { role: 'user', content: [{ type: 'foo' }] },
    ];
    expect(errorOf({ ...minimal, messages })).toBe('messages.3.content.0.type: unknown block type "foo"');
  });

  it('rejects a body that is not an object', () => {
    expect(errorOf([1, 2])).toBe('request body must be a JSON object');
  });

  it('rejects an empty message list', () => {
    expect(errorOf({ ...minimal, messages: [] })).toBe('messages: at least one message is required');
  });

  it('rejects an unknown role', () => {
    expect(errorOf({ ...minimal, messages: [{ role: 'tool', content: 'x' }] })).toBe(
      'messages.0.role: must be "user", "assistant" or "system", got "tool"',
    );
  });

  it('rejects a tool_result in an assistant message', () => {
    const messages = [{ role: 'assistant', content: [{ type: 'tool_result', tool_use_id: 't', content: 'x' }] }];
    expect(errorOf({ ...minimal, messages })).toBe('messages.0.content.0.type: "tool_result" blocks are only allowed in user messages');
  });

  it('rejects a tool_use in a user message', () => {
    const messages = [{ role: 'user', content: [{ type: 'tool_use', id: 't', name: 'x', input: {} }] }];
    expect(errorOf({ ...minimal, messages })).toBe('messages.0.content.0.type: "tool_use" blocks are only allowed in assistant messages');
  });

  it('rejects a text block whose text is not a string', () => {
    const messages = [{ role: 'user', content: [{ type: 'text', text: 5 }] }];
    expect(errorOf({ ...minimal, messages })).toBe('messages.0.content.0.text: must be a string, got 5');
  });

  it('rejects a tool_use input that is not an object', () => {
    const messages = [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'x', input: [1] }] }];
    expect(errorOf({ ...minimal, messages })).toBe('messages.0.content.0.input: must be an object, got an array');
  });

  it('rejects an image source of an unknown type', () => {
    const messages = [{ role: 'user', content: [{ type: 'image', source: { type: 'ftp', url: 'x' } }] }];
    expect(errorOf({ ...minimal, messages })).toBe('messages.0.content.0.source.type: unknown image source type "ftp"');
  });

  it('rejects an unknown block inside a tool_result', () => {
    const messages = [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'video' }] }] }];
    expect(errorOf({ ...minimal, messages })).toBe('messages.0.content.0.content.0.type: unknown block type "video"');
  });

  it('rejects a non-integer max_tokens', () => {
    expect(errorOf({ ...minimal, max_tokens: 1.5 })).toBe('max_tokens: must be an integer, got 1.5');
  });

  it('rejects a temperature out of range', () => {
    expect(errorOf({ ...minimal, temperature: 3 })).toBe('temperature: must be between 0 and 2, got 3');
  });

  it('rejects a client tool without input_schema', () => {
    expect(errorOf({ ...minimal, tools: [{ name: 'x' }] })).toBe('tools.0.input_schema: field required');
  });

  it('accepts an Anthropic-defined tool without input_schema', () => {
    const request = validateMessagesRequest({ ...minimal, tools: [{ type: 'web_search_20250305', name: 'web_search' }] });
    expect(request.tools).toEqual([{ type: 'web_search_20250305', name: 'web_search' }]);
  });

  it('rejects an unknown tool_choice type', () => {
    expect(errorOf({ ...minimal, tool_choice: { type: 'some' } })).toBe(
      'tool_choice.type: must be "auto", "any", "tool" or "none", got "some"',
    );
  });

  it('rejects an unknown thinking type', () => {
    expect(errorOf({ ...minimal, thinking: { type: 'on' } })).toBe('thinking.type: must be "enabled", "adaptive" or "disabled", got "on"');
  });

  it('requires budget_tokens for enabled thinking', () => {
    expect(errorOf({ ...minimal, thinking: { type: 'enabled' } })).toBe('thinking.budget_tokens: field required');
  });

  it('rejects an unknown effort', () => {
    expect(errorOf({ ...minimal, output_config: { effort: 'extreme' } })).toBe(
      'output_config.effort: must be one of "low", "medium", "high", "xhigh", "max", got "extreme"',
    );
  });

  it('keeps server tool results in assistant history', () => {
    const messages = [
      { role: 'assistant', content: [{ type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] }] },
      { role: 'user', content: 'more' },
    ];
    expect(validateMessagesRequest({ ...minimal, messages }).messages[0].content).toEqual([
      { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
    ]);
  });

  it('answers any JSON value with a request or a 400, never a crash', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          validateMessagesRequest(value);
        } catch (err) {
          expect(err).toBeInstanceOf(GatewayError);
        }
      }),
    );
  });

  it('answers requests with wrongly typed fields with a 400, never a crash', () => {
    const anything = fc.oneof(fc.jsonValue(), fc.constant(undefined));
    const block = fc.record({ type: fc.constantFrom('text', 'image', 'tool_use', 'tool_result', 'thinking', 'document', 'x'), text: anything, source: anything, id: anything, name: anything, input: anything, content: anything, tool_use_id: anything }, { requiredKeys: ['type'] });
    const message = fc.record({ role: fc.constantFrom('user', 'assistant', 'system', 'bot'), content: fc.oneof(fc.string(), fc.array(block), anything) });
    const body = fc.record({ model: anything, max_tokens: anything, messages: fc.array(message), system: anything, tools: anything, tool_choice: anything, thinking: anything, temperature: anything });
    fc.assert(
      fc.property(body, (value) => {
        try {
          validateMessagesRequest(value);
        } catch (err) {
          expect(err).toBeInstanceOf(GatewayError);
        }
      }),
    );
  });
});
