import { describe, expect, it } from 'vitest';
import { payloadPatcher } from './payload-patch.js';

const tools = [{ name: 'Bash' }];

describe('payloadPatcher', () => {
  it('returns nothing when there is nothing to add', () => {
    expect(payloadPatcher('openai-responses', {})).toBeUndefined();
  });

  it('passes an Anthropic tool choice and stop sequences through', () => {
    const patch = payloadPatcher('anthropic-messages', { toolChoice: { type: 'tool', name: 'Bash' }, stopSequences: ['END'] });
    expect(patch?.({ tools })).toEqual({ tools, tool_choice: { type: 'tool', name: 'Bash' }, stop_sequences: ['END'] });
  });

  it('leaves top_p out of an Anthropic payload with thinking on', () => {
    const patch = payloadPatcher('anthropic-messages', { topP: 0.5, topK: 3 });
    expect(patch?.({ thinking: { type: 'adaptive' } })).toEqual({ thinking: { type: 'adaptive' } });
    expect(patch?.({})).toEqual({ top_p: 0.5, top_k: 3 });
  });

  it('maps "any" to "required" for chat completions', () => {
    const patch = payloadPatcher('openai-completions', { toolChoice: { type: 'any', disable_parallel_tool_use: true } });
    expect(patch?.({ tools })).toEqual({ tools, tool_choice: 'required', parallel_tool_calls: false });
  });

  it('names a forced tool the chat completions way', () => {
    const patch = payloadPatcher('openai-completions', { toolChoice: { type: 'tool', name: 'Bash' } });
    expect(patch?.({ tools })).toMatchObject({ tool_choice: { type: 'function', function: { name: 'Bash' } } });
  });

  it('keeps at most four stop sequences for chat completions', () => {
    const patch = payloadPatcher('openai-completions', { stopSequences: ['a', 'b', 'c', 'd', 'e'] });
    expect(patch?.({})).toEqual({ stop: ['a', 'b', 'c', 'd'] });
  });

  it('names a forced tool the Responses way', () => {
    const patch = payloadPatcher('openai-codex-responses', { toolChoice: { type: 'tool', name: 'Bash' } });
    expect(patch?.({ tools, tool_choice: 'auto' })).toEqual({ tools, tool_choice: { type: 'function', name: 'Bash' } });
  });

  it('sets no tool choice when the payload has no tools', () => {
    const patch = payloadPatcher('openai-responses', { toolChoice: { type: 'any' } });
    expect(patch?.({ input: [] })).toEqual({ input: [] });
  });

  it('writes Google function calling config', () => {
    const patch = payloadPatcher('google-generative-ai', { toolChoice: { type: 'tool', name: 'Bash' }, stopSequences: ['x'] });
    expect(patch?.({ config: { tools: [{ functionDeclarations: [] }] } })).toEqual({
      config: {
        tools: [{ functionDeclarations: [] }],
        toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['Bash'] } },
        stopSequences: ['x'],
      },
    });
  });

  it('does not touch the payload it was given', () => {
    const payload = { tools };
    payloadPatcher('anthropic-messages', { stopSequences: ['x'] })?.(payload);
    expect(payload).toEqual({ tools });
  });
});
