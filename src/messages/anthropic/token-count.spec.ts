import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getModel, type Api, type Model } from '@mariozechner/pi-ai';
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { capturePayload } from '../../../test/fixtures/messages/capture-payload.js';
import { CLAUDE_CODE_FIXTURES, claudeCodeBody } from '../../../test/fixtures/messages/claude-code-fixtures.js';
import type { AnthropicRequest } from './anthropic-request.js';
import { requestToContext } from './request-to-context.js';
import { validateCountTokensRequest, validateMessagesRequest } from './request-validation.js';
import { countTokens, FAMILY_PROFILES, tokenizerFamily } from './token-count.js';

const codex = getModel('openai-codex', 'gpt-5.1-codex-mini') as Model<Api>;
const claude = getModel('anthropic', 'claude-sonnet-4-5') as Model<Api>;
const gemini = getModel('google', 'gemini-2.5-pro') as Model<Api>;
const NO_SPECIAL = { disallowedSpecial: new Set<string>() };

/** Real source code to fill tool results with, as Read calls return it. */
function sourceFiles(): string[] {
  const dir = join(dirname(fileURLToPath(import.meta.resolve('@mariozechner/pi-ai'))), 'providers');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

/** A Claude Code-like session grown to about `bytes` of JSON: read, edit, run, repeat. */
function longSession(bytes: number): AnthropicRequest {
  const base = claudeCodeBody('tool-2') as { messages: unknown[] } & Record<string, unknown>;
  const files = sourceFiles();
  const messages = [...base.messages];
  let size = JSON.stringify(base).length;
  for (let turn = 0; size < bytes; turn++) {
    const file = files[turn % files.length];
    const id = `toolu_${turn}`;
    const turnMessages = [
      { role: 'assistant', content: [{ type: 'text', text: `Reading file ${turn}.` }, { type: 'tool_use', id, name: 'Read', input: { file_path: `/src/f${turn}.js` } }] },
      // Each result distinct, as in a real session, so no count is reused across turns.
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: `// f${turn}.js\n${file}` }] },
      { role: 'user', content: `Now explain what part ${turn} does, briefly.` },
    ];
    messages.push(...turnMessages);
    size += JSON.stringify(turnMessages).length;
  }
  return validateMessagesRequest({ ...base, messages });
}

/**
 * The o200k count of what the model reads from the exact Codex payload pi-ai builds: the
 * instructions, every input item's text, call arguments and outputs, and the tool definitions.
 * JSON punctuation of the payload itself is not something the model reads.
 */
async function payloadTokens(request: AnthropicRequest): Promise<{ content: number; json: number }> {
  const { context, options } = requestToContext(request, { model: codex, reasoning: undefined });
  const payload = await capturePayload(codex, context, options);
  const texts: string[] = [typeof payload.instructions === 'string' ? payload.instructions : ''];
  for (const item of payload.input as Record<string, unknown>[]) {
    if (Array.isArray(item.content)) for (const c of item.content as { text?: string }[]) texts.push(c.text ?? '');
    else if (typeof item.content === 'string') texts.push(item.content);
    if (typeof item.arguments === 'string') texts.push(String(item.name), item.arguments);
    if (typeof item.output === 'string') texts.push(item.output);
  }
  for (const tool of (payload.tools ?? []) as { name: string; description: string; parameters: unknown }[]) {
    texts.push(tool.name, tool.description, JSON.stringify(tool.parameters));
  }
  return {
    content: texts.reduce((n, t) => n + o200k(t, NO_SPECIAL), 0),
    json: o200k(JSON.stringify(payload), NO_SPECIAL),
  };
}

function report(label: string, estimate: number, truth: { content: number; json: number }): void {
  if (!process.env.PIAPI_TOKEN_REPORT) return;
  const pct = (n: number) => `${(((estimate - n) / n) * 100).toFixed(1)}%`;
  console.log(`${label}: estimate ${estimate}, payload content ${truth.content} (${pct(truth.content)}), payload JSON ${truth.json} (${pct(truth.json)})`);
}

describe('tokenizerFamily', () => {
  it('picks the tokenizer family from the API and the model id', () => {
    expect(tokenizerFamily(codex)).toBe('openai');
    expect(tokenizerFamily(claude)).toBe('claude');
    expect(tokenizerFamily(gemini)).toBe('gemini');
    expect(tokenizerFamily({ api: 'openai-completions', id: 'anthropic/claude-sonnet-4.5' })).toBe('claude');
  });
});

describe('countTokens', () => {
  it('counts a short request with a real tokenizer', async () => {
    const request = validateCountTokensRequest({ messages: [{ role: 'user', content: 'Hello, world!' }] });
    // "Hello, world!" is 4 o200k tokens; the rest is framing.
    expect(await countTokens(request, codex)).toBe(4 + 4 + 7);
  });

  it('scales the o200k count for Claude targets', async () => {
    const request = validateCountTokensRequest({ messages: [{ role: 'user', content: 'Hello, world!' }] });
    expect(await countTokens(request, claude)).toBe(Math.ceil(15 * FAMILY_PROFILES.claude.factor));
  });

  it('counts an image at the fixed estimate of the family', async () => {
    const request = validateCountTokensRequest({
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(100_000) } }] }],
    });
    expect(await countTokens(request, codex)).toBe(FAMILY_PROFILES.openai.imageTokens + 4 + 7);
  });

  it('counts tools, tool calls and tool results', async () => {
    const bare = validateCountTokensRequest({ messages: [{ role: 'user', content: 'go' }] });
    const withTools = validateCountTokensRequest({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'ls -la' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'file-a\nfile-b' }] },
      ],
      tools: [{ name: 'Bash', description: 'Run a command', input_schema: { type: 'object', properties: { command: { type: 'string' } } } }],
    });
    expect(await countTokens(withTools, codex)).toBeGreaterThan((await countTokens(bare, codex)) + 30);
  });

  it.each(CLAUDE_CODE_FIXTURES)("stays within a tenth of the o200k count of the Codex payload pi-ai builds for Claude Code's %s", async (name) => {
    const request = validateMessagesRequest(claudeCodeBody(name));
    const estimate = await countTokens(request, codex);
    const truth = await payloadTokens(request);
    report(name, estimate, truth);
    expect(Math.abs(estimate - truth.content) / truth.content).toBeLessThan(0.1);
  });

  it('stays within a tenth on a long code-heavy session', async () => {
    const request = longSession(1_000_000);
    const estimate = await countTokens(request, codex);
    const truth = await payloadTokens(request);
    report('long session (1 MB)', estimate, truth);
    expect(Math.abs(estimate - truth.content) / truth.content).toBeLessThan(0.1);
  });

  it('counts a 5 MB history quickly, and the next turn of it faster still', async () => {
    const request = longSession(5_000_000);
    await countTokens(validateCountTokensRequest({ messages: [{ role: 'user', content: 'warm up' }] }), codex);
    let started = performance.now();
    const first = await countTokens(request, codex);
    const firstMs = performance.now() - started;
    request.messages.push({ role: 'user', content: 'one more question' });
    started = performance.now();
    const second = await countTokens(request, codex);
    const secondMs = performance.now() - started;
    if (process.env.PIAPI_TOKEN_REPORT) console.log(`5 MB: ${first} tokens in ${firstMs.toFixed(0)} ms, next turn in ${secondMs.toFixed(0)} ms`);
    expect(second).toBeGreaterThan(first);
    expect(firstMs).toBeLessThan(5_000);
    expect(secondMs).toBeLessThan(firstMs / 2);
  });
});
