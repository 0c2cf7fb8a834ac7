import { getModel, type Api, type Model } from '@mariozechner/pi-ai';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anthropicRequestBody } from '../../../test/fixtures/messages/arbitraries.js';
import { capturePayload } from '../../../test/fixtures/messages/capture-payload.js';
import { CLAUDE_CODE_FIXTURES, claudeCodeBody } from '../../../test/fixtures/messages/claude-code-fixtures.js';
import type { AnthropicRequest } from './anthropic-request.js';
import { requestToContext, toPiToolCallId, type PiRequest } from './request-to-context.js';
import { validateMessagesRequest } from './request-validation.js';
import { encodeToolId } from './tool-id-codec.js';

const claude = getModel('anthropic', 'claude-sonnet-4-5') as Model<Api>;
const codex = getModel('openai-codex', 'gpt-5.1-codex-mini') as Model<Api>;
const openai = getModel('openai', 'gpt-5.1') as Model<Api>;
const completions = getModel('github-copilot', 'gpt-4.1') as Model<Api>;
const gemini = getModel('google', 'gemini-2.5-flash') as Model<Api>;
const TARGETS = { claude, codex, openai, completions, gemini } as const;

function request(body: Record<string, unknown>): AnthropicRequest {
  return validateMessagesRequest({ model: 'claude-sonnet-4-5', max_tokens: 1000, ...body });
}

function map(body: Record<string, unknown>, model: Model<Api> = codex, reasoning: PiRequest['options']['reasoning'] = undefined): PiRequest {
  return requestToContext(request(body), { model, reasoning });
}

/** What a golden file holds: the context with tool schemas reduced to names, and the options. */
function goldenView(mapped: PiRequest): unknown {
  return {
    systemPrompt: mapped.context.systemPrompt,
    messages: mapped.context.messages,
    tools: mapped.context.tools?.map((t) => t.name),
    options: mapped.options,
    emitThinking: mapped.emitThinking,
  };
}

const toolTurn = [
  { role: 'user', content: 'run it' },
  {
    role: 'assistant',
    content: [
      { type: 'thinking', thinking: 'I should run it.', signature: 'sig-1' },
      { type: 'text', text: 'Running.' },
      { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'echo hi' } },
    ],
  },
  {
    role: 'user',
    content: [
      { type: 'text', text: 'and then?' },
      { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'hi' }], is_error: false },
    ],
  },
];
const bash = { name: 'Bash', description: 'Runs a command', input_schema: { type: 'object', properties: { command: { type: 'string' } } } };

describe('requestToContext golden files', () => {
  for (const name of CLAUDE_CODE_FIXTURES) {
    for (const target of ['claude', 'codex'] as const) {
      it(`maps Claude Code's ${name} for a ${target} target as recorded`, async () => {
        const mapped = requestToContext(validateMessagesRequest(claudeCodeBody(name)), { model: TARGETS[target], reasoning: 'medium' });
        await expect(JSON.stringify(goldenView(mapped), null, 1)).toMatchFileSnapshot(
          `../../../test/fixtures/messages/request-to-context/${name}.${target}.json`,
        );
      });
    }
  }
});

describe('requestToContext system prompt', () => {
  it('folds role "system" messages into the system prompt after the top-level system', () => {
    const mapped = map({
      system: [{ type: 'text', text: 'top' }],
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'system', content: [{ type: 'text', text: 'env' }] },
        { role: 'system', content: 'later' },
      ],
    });
    expect(mapped.context.systemPrompt).toBe('top\n\nenv\n\nlater');
    expect(mapped.context.messages).toHaveLength(1);
  });

  it("drops Claude Code's per-request billing line", () => {
    const mapped = map({
      system: [
        { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.330.440; cc_entrypoint=sdk-cli;' },
        { type: 'text', text: 'You are Claude.' },
      ],
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(mapped.context.systemPrompt).toBe('You are Claude.');
  });

  it('leaves the system prompt out when there is none', () => {
    expect(map({ messages: [{ role: 'user', content: 'hi' }] }).context).not.toHaveProperty('systemPrompt');
  });
});

describe('requestToContext user content', () => {
  it('maps a base64 image to a pi-ai image', () => {
    const mapped = map({
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] }],
    });
    expect(mapped.context.messages[0]).toMatchObject({ role: 'user', content: [{ type: 'image', data: 'AAAA', mimeType: 'image/png' }] });
  });

  it('turns a URL image into a note with its URL, since pi-ai takes base64 only', () => {
    const mapped = map({
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } }] }],
    });
    expect(mapped.context.messages[0]).toMatchObject({ content: [{ type: 'text', text: '[Image: https://example.com/cat.png]' }] });
  });

  it('inlines a text document with its title', () => {
    const mapped = map({
      messages: [{ role: 'user', content: [{ type: 'document', title: 'notes', source: { type: 'text', media_type: 'text/plain', data: 'body' } }] }],
    });
    expect(mapped.context.messages[0]).toMatchObject({ content: [{ type: 'text', text: '[Document "notes"]\nbody' }] });
  });

  it('notes a PDF it cannot pass on', () => {
    const mapped = map({
      messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBE' } }] }],
    });
    expect(mapped.context.messages[0]).toMatchObject({ content: [{ type: 'text', text: '[Document (application/pdf) not readable by this model]' }] });
  });

  it('inlines a search result', () => {
    const mapped = map({
      messages: [{ role: 'user', content: [{ type: 'search_result', source: 'https://e.com', title: 'E', content: [{ type: 'text', text: 'found' }] }] }],
    });
    expect(mapped.context.messages[0]).toMatchObject({ content: [{ type: 'text', text: '[Search result "E" from https://e.com]\nfound' }] });
  });

  it('skips empty user text', () => {
    expect(map({ messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }).context.messages).toEqual([]);
  });
});

describe('requestToContext tool turns', () => {
  it('places tool results before the user text of the same message', () => {
    const roles = map({ messages: toolTurn, tools: [bash] }).context.messages.map((m) => m.role);
    expect(roles).toEqual(['user', 'assistant', 'toolResult', 'user']);
  });

  it("names a tool result after the matching tool_use", () => {
    const result = map({ messages: toolTurn, tools: [bash] }).context.messages[2];
    expect(result).toMatchObject({ role: 'toolResult', toolCallId: 'toolu_1', toolName: 'Bash', isError: false, content: [{ type: 'text', text: 'hi' }] });
  });

  it('maps a string tool result with is_error', () => {
    const messages = [toolTurn[0], toolTurn[1], { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'boom', is_error: true }] }];
    expect(map({ messages }).context.messages[2]).toMatchObject({ isError: true, content: [{ type: 'text', text: 'boom' }] });
  });

  it('keeps images inside a tool result', () => {
    const content = [{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'BBBB' } }];
    const messages = [toolTurn[0], toolTurn[1], { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content }] }];
    expect(map({ messages }).context.messages[2]).toMatchObject({ content: [{ type: 'image', data: 'BBBB', mimeType: 'image/jpeg' }] });
  });

  it('gives an empty tool result a placeholder text', () => {
    const messages = [toolTurn[0], toolTurn[1], { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1' }] }];
    expect(map({ messages }).context.messages[2]).toMatchObject({ content: [{ type: 'text', text: '(no output)' }] });
  });

  it('turns a tool result without a matching tool_use into user text', () => {
    const messages = [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_gone', content: 'late' }] }];
    expect(map({ messages }).context.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: '[Result of tool call toolu_gone]' }, { type: 'text', text: 'late' }], timestamp: 0 },
    ]);
  });

  it('decodes an id it encoded before it reaches pi-ai', () => {
    const wire = encodeToolId('call_a|fc_b');
    const messages = [
      { role: 'user', content: 'go' },
      { role: 'assistant', content: [{ type: 'tool_use', id: wire, name: 'Bash', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: wire, content: 'ok' }] },
    ];
    const mapped = map({ messages });
    expect(mapped.context.messages[1]).toMatchObject({ content: [{ type: 'toolCall', id: 'call_a|fc_b' }] });
    expect(mapped.context.messages[2]).toMatchObject({ toolCallId: 'call_a|fc_b' });
  });

  it('keeps an encoded id encoded for an Anthropic target, which would reject the original', () => {
    const wire = encodeToolId('call_a|fc_b');
    expect(toPiToolCallId(wire, 'anthropic-messages')).toBe(wire);
    expect(toPiToolCallId(wire, 'openai-responses')).toBe('call_a|fc_b');
  });

  it('turns server tool blocks into notes the target can read', () => {
    const messages = [
      { role: 'user', content: 'search' },
      {
        role: 'assistant',
        content: [
          { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'cats' } },
          { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [{ type: 'web_search_result', url: 'https://c.com', title: 'Cats' }] },
        ],
      },
    ];
    expect(map({ messages }).context.messages[1]).toMatchObject({
      content: [
        { type: 'text', text: '[Server tool web_search called with {"query":"cats"}]' },
        { type: 'text', text: '[web_search_tool_result: Cats <https://c.com>]' },
      ],
    });
  });
});

describe('requestToContext thinking history', () => {
  it('keeps signed thinking for an Anthropic target, as the same model', () => {
    const assistant = map({ messages: toolTurn }, claude).context.messages[1];
    expect(assistant).toMatchObject({
      api: 'anthropic-messages',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'thinking', thinking: 'I should run it.', thinkingSignature: 'sig-1' }, { type: 'text' }, { type: 'toolCall' }],
    });
  });

  it('keeps redacted thinking for an Anthropic target', () => {
    const messages = [{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'opaque' }, { type: 'text', text: 'y' }] }];
    expect(map({ messages }, claude).context.messages[1]).toMatchObject({
      content: [{ type: 'thinking', thinking: '', thinkingSignature: 'opaque', redacted: true }, { type: 'text', text: 'y' }],
    });
  });

  it('drops unsigned thinking even for an Anthropic target', () => {
    const messages = [{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'thinking', thinking: 'hm', signature: '' }, { type: 'text', text: 'y' }] }];
    expect(map({ messages }, claude).context.messages[1]).toMatchObject({ content: [{ type: 'text', text: 'y' }] });
  });

  it('drops thinking and redacted thinking for other targets', () => {
    const messages = [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'hm', signature: 's' }, { type: 'redacted_thinking', data: 'd' }, { type: 'text', text: 'y' }] },
    ];
    const assistant = map({ messages }, codex).context.messages[1];
    expect(assistant).toMatchObject({ api: 'anthropic-messages', provider: 'anthropic-client', content: [{ type: 'text', text: 'y' }] });
  });

  it('drops an assistant message left empty', () => {
    const messages = [{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'thinking', thinking: 'hm', signature: 's' }] }, { role: 'user', content: 'z' }];
    expect(map({ messages }, codex).context.messages.map((m) => m.role)).toEqual(['user', 'user']);
  });

  it.each(['codex', 'openai', 'completions', 'gemini'] as const)('builds a %s payload from signed thinking history without error', async (target) => {
    const mapped = map({ messages: toolTurn, tools: [bash] }, TARGETS[target]);
    const payload = await capturePayload(TARGETS[target], mapped.context, mapped.options);
    expect(JSON.stringify(payload)).not.toContain('sig-1');
  });

  it('sends the signature back to an Anthropic target', async () => {
    const mapped = map({ messages: toolTurn, tools: [bash] }, claude, 'medium');
    const payload = await capturePayload(claude, mapped.context, mapped.options);
    expect(JSON.stringify(payload.messages)).toContain('"signature":"sig-1"');
  });
});

describe('requestToContext tools', () => {
  it('passes a JSON schema through as pi-ai parameters', () => {
    expect(map({ messages: toolTurn, tools: [bash] }).context.tools).toEqual([
      { name: 'Bash', description: 'Runs a command', parameters: bash.input_schema },
    ]);
  });

  it('leaves out Anthropic-defined server tools', () => {
    const tools = [bash, { type: 'web_search_20250305', name: 'web_search' }];
    expect(map({ messages: toolTurn, tools }).context.tools?.map((t) => t.name)).toEqual(['Bash']);
  });

  it('leaves out a deferred tool until a tool_reference names it', () => {
    const deferred = { ...bash, name: 'Deferred', defer_loading: true };
    expect(map({ messages: toolTurn, tools: [bash, deferred] }).context.tools?.map((t) => t.name)).toEqual(['Bash']);
    const messages = [
      toolTurn[0],
      toolTurn[1],
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'tool_reference', tool_name: 'Deferred' }] }] },
    ];
    expect(map({ messages, tools: [bash, deferred] }).context.tools?.map((t) => t.name)).toEqual(['Bash', 'Deferred']);
  });

  it('sends tool_choice through the payload hook', async () => {
    const mapped = map({ messages: toolTurn, tools: [bash], tool_choice: { type: 'tool', name: 'Bash' } }, openai);
    const payload = await capturePayload(openai, mapped.context, mapped.options);
    expect(payload.tool_choice).toEqual({ type: 'function', name: 'Bash' });
  });

  it('asks for any tool when the named one is not sent', async () => {
    const mapped = map({ messages: toolTurn, tools: [bash], tool_choice: { type: 'tool', name: 'Gone' } }, openai);
    const payload = await capturePayload(openai, mapped.context, mapped.options);
    expect(payload.tool_choice).toBe('required');
  });
});

describe('requestToContext options', () => {
  it('clamps max_tokens to what the model allows', () => {
    expect(map({ messages: toolTurn, max_tokens: 500_000 }, claude).options.maxTokens).toBe(64000);
  });

  it('passes the reasoning level from the model map', () => {
    expect(map({ messages: toolTurn }, codex, 'high').options.reasoning).toBe('high');
  });

  it('turns reasoning off for an Anthropic target when a tool is forced', () => {
    expect(map({ messages: toolTurn, tools: [bash], tool_choice: { type: 'any' } }, claude, 'high').options.reasoning).toBeUndefined();
  });

  it('drops temperature for a reasoning model on the Responses API', () => {
    expect(map({ messages: toolTurn, temperature: 0.3 }, codex).options.temperature).toBeUndefined();
    expect(map({ messages: toolTurn, temperature: 0.3 }, completions).options.temperature).toBe(0.3);
  });

  it("uses Claude Code's session id for prompt caching", () => {
    const options = map({ messages: toolTurn, metadata: { user_id: '{"device_id":"d","session_id":"abc-123"}' } }).options;
    expect(options).toMatchObject({ sessionId: 'abc-123', metadata: { user_id: '{"device_id":"d","session_id":"abc-123"}' } });
  });

  it('emits thinking when the client asked for it', () => {
    expect(map({ messages: toolTurn, thinking: { type: 'adaptive' } }).emitThinking).toBe(true);
    expect(map({ messages: toolTurn }, codex, 'high').emitThinking).toBe(false);
  });

  it('emits thinking for an Anthropic target that reasons, so it can be replayed', () => {
    expect(map({ messages: toolTurn }, claude, 'high').emitThinking).toBe(true);
  });
});

describe('requestToContext properties', () => {
  it('maps any valid request, and pi-ai builds every target payload from it', async () => {
    await fc.assert(
      fc.asyncProperty(anthropicRequestBody, fc.constantFrom(...Object.values(TARGETS)), async (body, model) => {
        const mapped = requestToContext(validateMessagesRequest(body), { model, reasoning: 'medium' });
        await capturePayload(model, mapped.context, mapped.options);
      }),
      { numRuns: 150 },
    );
  });
});
