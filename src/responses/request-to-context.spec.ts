import { readFileSync } from 'node:fs';
import type { Api, Model, ToolResultMessage } from '@mariozechner/pi-ai';
import { describe, expect, it } from 'vitest';
import { SUMMARY_REQUEST, summaryHandoff } from './compaction.js';
import { effortSource, responsesToContext } from './request-to-context.js';
import { encodeReasoning } from './reasoning-codec.js';
import { validateResponsesRequest, type ResponsesRequest } from './responses-request.js';

/** Codex 0.169 requests recorded against a fake upstream (keys redacted). */
function recorded(name: string): ResponsesRequest {
  const file = JSON.parse(readFileSync(new URL(`../../test/fixtures/codex/${name}.json`, import.meta.url), 'utf8')) as { body: unknown };
  return validateResponsesRequest(file.body);
}

function model(api: Api, id = 'target-model'): Model<Api> {
  return {
    id,
    name: id,
    api,
    provider: api === 'anthropic-messages' ? 'anthropic' : 'openai',
    baseUrl: 'http://127.0.0.1:1',
    reasoning: true,
    input: ['text', 'image'],
    cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    contextWindow: 200_000,
    maxTokens: 32_000,
  };
}

describe('responsesToContext on recorded Codex requests', () => {
  it('puts the leading developer messages into the system prompt and keeps the user turns', () => {
    const { context } = responsesToContext(recorded('text-1'), { model: model('anthropic-messages'), reasoning: undefined });
    expect(context.systemPrompt).toMatch(/^You are a coding agent running in the Codex CLI/);
    expect(context.systemPrompt).toContain('<skills_instructions>');
    expect(context.messages.map((m) => m.role)).toEqual(['user', 'user']);
    expect(context.messages.at(-1)).toMatchObject({ content: [{ type: 'text', text: 'say hi' }] });
  });

  it('offers functions and namespace members, and leaves out the hosted web_search tool', () => {
    const { context, tools } = responsesToContext(recorded('text-1'), { model: model('openai-completions'), reasoning: undefined });
    const names = context.tools!.map((t) => t.name);
    expect(names).toContain('exec_command');
    expect(names).toContain('multi_agent_v1__spawn_agent');
    expect(names.some((n) => n.includes('web_search'))).toBe(false);
    expect(tools.clientTool('multi_agent_v1__spawn_agent')).toEqual({ kind: 'function', name: 'spawn_agent', namespace: 'multi_agent_v1' });
  });

  it('turns function_call + function_call_output history into a tool call and its result with the same id', () => {
    const { context } = responsesToContext(recorded('tool-2'), { model: model('anthropic-messages'), reasoning: undefined });
    const [call, result] = context.messages.slice(-2);
    expect(call).toMatchObject({ role: 'assistant', content: [{ type: 'toolCall', id: 'call_mockmwr007bx2', name: 'exec_command', arguments: { cmd: 'echo hello' } }] });
    expect(result).toMatchObject({ role: 'toolResult', toolCallId: 'call_mockmwr007bx2', toolName: 'exec_command' });
    expect((result as ToolResultMessage).content[0]).toMatchObject({ type: 'text', text: expect.stringContaining('hello') });
  });

  it('uses prompt_cache_key as the session id, and asks for nothing the request did not', () => {
    const request = recorded('tool-1');
    const { options, emitSummary, emitEncrypted } = responsesToContext(request, { model: model('openai-responses'), reasoning: undefined });
    expect(options.sessionId).toBe(request.prompt_cache_key);
    expect(options.reasoning).toBeUndefined();
    expect(emitSummary).toBe(true);
    expect(emitEncrypted).toBe(true);
  });

  it('matches the golden translation of the tool turn', async () => {
    const { context } = responsesToContext(recorded('tool-2'), { model: model('anthropic-messages'), reasoning: undefined });
    const summary = {
      systemPromptChars: context.systemPrompt?.length,
      messages: context.messages.map((m) => ({ role: m.role, content: typeof m.content === 'string' ? m.content : m.content.map((c) => c.type) })),
      tools: context.tools?.map((t) => t.name),
    };
    await expect(JSON.stringify(summary, null, 2) + '\n').toMatchFileSnapshot('../../test/fixtures/responses/context/tool-2.json');
  });
});

describe('responsesToContext details', () => {
  const base = { model: 'gpt-5.1-codex', stream: true };

  it('offers a custom freeform tool as a function with one string parameter and its grammar in the description', () => {
    const request = validateResponsesRequest({
      ...base,
      input: 'patch it',
      tools: [{ type: 'custom', name: 'apply_patch', description: 'Edit files.', format: { type: 'grammar', syntax: 'lark', definition: 'start: begin_patch' } }],
    });
    const { context } = responsesToContext(request, { model: model('anthropic-messages'), reasoning: undefined });
    expect(context.tools![0]).toMatchObject({ name: 'apply_patch', parameters: { type: 'object', required: ['input'], properties: { input: { type: 'string' } } } });
    expect(context.tools![0].description).toContain('lark grammar:\nstart: begin_patch');
  });

  it('replays piapi-carried Anthropic thinking only to an Anthropic target, with its signature', () => {
    const carried = encodeReasoning({ api: 'anthropic-messages', thinking: 'Think.', signature: 'sig-1', redacted: false });
    const input = [
      { role: 'user', content: 'q' },
      { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: carried },
      { type: 'function_call', call_id: 'toolu_01', name: 'f', arguments: '{}' },
      { type: 'function_call_output', call_id: 'toolu_01', output: 'r' },
    ];
    const request = validateResponsesRequest({ ...base, input, tools: [{ type: 'function', name: 'f' }] });
    const anthropic = responsesToContext(request, { model: model('anthropic-messages'), reasoning: undefined }).context.messages[1];
    expect(anthropic).toMatchObject({ content: [{ type: 'thinking', thinking: 'Think.', thinkingSignature: 'sig-1' }, { type: 'toolCall', id: 'toolu_01' }] });
    const chat = responsesToContext(request, { model: model('openai-completions'), reasoning: undefined }).context.messages[1];
    expect(chat).toMatchObject({ content: [{ type: 'toolCall', id: 'toolu_01' }] });
    expect(JSON.stringify(chat)).not.toContain('Think.');
  });

  it('encodes a Responses-style call id for an Anthropic target the same way in the call and its result', () => {
    const input = [
      { role: 'user', content: 'q' },
      { type: 'function_call', call_id: 'call_a|fc_b', name: 'f', arguments: '{}' },
      { type: 'function_call_output', call_id: 'call_a|fc_b', output: 'r' },
    ];
    const { context } = responsesToContext(validateResponsesRequest({ ...base, input }), { model: model('anthropic-messages'), reasoning: undefined });
    const id = (context.messages[1] as { content: { id: string }[] }).content[0].id;
    expect(id).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect((context.messages[2] as ToolResultMessage).toolCallId).toBe(id);
  });

  it('turns input_image data URLs into images and other URLs into a note', () => {
    const input = [
      {
        role: 'user',
        content: [
          { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=' },
          { type: 'input_image', image_url: 'https://example.com/a.png' },
        ],
      },
    ];
    const { context } = responsesToContext(validateResponsesRequest({ ...base, input }), { model: model('openai-completions'), reasoning: undefined });
    expect(context.messages[0]).toMatchObject({ content: [{ type: 'image', mimeType: 'image/png', data: 'iVBORw0KGgo=' }, { type: 'text', text: '[Image: https://example.com/a.png]' }] });
  });

  it('maps reasoning.effort through the model map fields, none turning thinking off', () => {
    expect(effortSource(validateResponsesRequest({ ...base, input: 'x', reasoning: { effort: 'high' } }))).toMatchObject({ output_config: { effort: 'high' } });
    expect(effortSource(validateResponsesRequest({ ...base, input: 'x', reasoning: { effort: 'none' } }))).toMatchObject({ thinking: { type: 'disabled' } });
    expect(effortSource(validateResponsesRequest({ ...base, input: 'x', reasoning: { summary: 'auto' } }))).toEqual({ model: 'gpt-5.1-codex' });
  });

  it('ignores unknown fields and item types, and refuses previous_response_id and wrong types with the field path', () => {
    const request = validateResponsesRequest({ ...base, input: [{ type: 'item_reference', id: 'x' }, { role: 'user', content: 'hi' }], future_field: 1 });
    expect(request.input).toHaveLength(1);
    expect(() => validateResponsesRequest({ ...base, input: 'x', previous_response_id: 'resp_1' })).toThrow(/^previous_response_id: not supported/);
    expect(() => validateResponsesRequest({ ...base, input: [{ type: 'message', role: 'robot', content: [] }] })).toThrow(/^input\.0\.role/);
    expect(() => validateResponsesRequest({ ...base, input: 'x', max_output_tokens: 'ten' })).toThrow(/^max_output_tokens/);
  });
});

describe('responsesToContext on Codex remote compaction (recorded, built-in OpenAI provider)', () => {
  it('asks the target for a handoff summary in place of the trigger, with the history and tools kept', () => {
    const request = recorded('compaction-trigger');
    expect(request.input.at(-1)).toEqual({ type: 'compaction_trigger' });
    const { context } = responsesToContext(request, { model: model('anthropic-messages'), reasoning: undefined });
    expect(context.messages.at(-1)).toMatchObject({ role: 'user', content: [{ type: 'text', text: SUMMARY_REQUEST }] });
    expect(context.messages.at(-2)).toMatchObject({ role: 'assistant', content: [{ type: 'text', text: 'answer 2' }] });
    expect(context.tools?.length).toBeGreaterThan(0);
  });

  it('gives the target the carried summary where the compaction item stands, then the new question', () => {
    const request = recorded('after-compaction');
    const { context } = responsesToContext(request, { model: model('openai-completions'), reasoning: undefined });
    const texts = context.messages.map((m) => (typeof m.content === 'string' ? m.content : m.content.map((c) => (c.type === 'text' ? c.text : '')).join('')));
    const handoff = texts.findIndex((t) => t.includes('SUMMARY-OF-EARLIER-WORK marker-77'));
    expect(handoff).toBeGreaterThan(-1);
    expect(texts[handoff]).toBe(summaryHandoff('SUMMARY-OF-EARLIER-WORK marker-77'));
    expect(texts.slice(handoff + 1)).toEqual(['second question']);
  });

  it('drops a compaction item piapi did not make and a trigger that is not last', () => {
    const request = validateResponsesRequest({
      model: 'gpt-5.1-codex',
      input: [
        { type: 'compaction', encrypted_content: 'gAAAAABopenai-only' },
        { type: 'compaction_trigger' },
        { type: 'message', role: 'user', content: 'go on' },
      ],
    });
    const { context } = responsesToContext(request, { model: model('anthropic-messages'), reasoning: undefined });
    expect(context.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'go on' }], timestamp: 0 }]);
  });
});
