import { afterEach, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import { startOpenAIResponsesFake } from '../fakes/openai-responses.fake.js';
import type { RecordedJson } from '../fakes/fake-upstream.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { runClaude, runCodex, type ClientRun } from './clients.js';

// Proves the harness and the fakes against the real CLIs, with no gateway in between.
let fake: ProviderFake | undefined;
afterEach(() => fake?.close());

function explain(run: ClientRun): string {
  return `exit ${run.code} in ${run.durationMs} ms\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

describe('real Claude Code against the fake Anthropic upstream', () => {
  it('prints the text of a text turn', async () => {
    fake = await startAnthropicMessagesFake({ text: ['Hello ', 'from the ', 'fake upstream.'] });
    const run = await runClaude({ baseUrl: fake.url, apiKey: 'sk-ant-fake-key', prompt: 'say hi' });
    console.log(`claude text turn: ${run.durationMs} ms, ${fake.requests.length} request(s)`);
    expect(run.stdout.trim(), explain(run)).toBe('Hello from the fake upstream.');
    expect(run.code, explain(run)).toBe(0);

    const [request] = fake.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/v1/messages?beta=true' });
    expect(request.headers).toMatchObject({ 'x-api-key': 'sk-ant-fake-key', 'anthropic-version': '2023-06-01' });
    expect(request.headers['anthropic-beta']).toContain('claude-code-20250219');
    const body = request.json();
    expect(body.stream).toBe(true);
    expect(JSON.stringify(body.messages[0])).toContain('say hi');
    expect(body.tools.map((t: { name: string }) => t.name)).toContain('Bash');
  });

  it('runs a Bash tool call, sends its tool_result back, and prints the final text', async () => {
    fake = await startAnthropicMessagesFake([
      {
        reasoning: ['The user wants ', 'a command run.'],
        text: ['Running it.'],
        toolCalls: [{ name: 'Bash', arguments: { command: 'echo hello-from-tool', description: 'Echo' } }],
      },
      { text: ['The command printed hello-from-tool.'] },
    ]);
    const run = await runClaude({
      baseUrl: fake.url,
      apiKey: 'sk-ant-fake-key',
      prompt: 'run echo hello-from-tool',
      args: ['--allowedTools', 'Bash'],
    });
    console.log(`claude tool turn: ${run.durationMs} ms, ${fake.requests.length} request(s)`);
    expect(run.stdout.trim(), explain(run)).toBe('The command printed hello-from-tool.');
    expect(run.code, explain(run)).toBe(0);

    expect(fake.requests).toHaveLength(2);
    const messages = fake.requests[1].json().messages as Array<{ role: string; content: unknown }>;
    const toolUse = messages.flatMap(blocksOf).find((b) => b.type === 'tool_use');
    const toolResult = messages.flatMap(blocksOf).find((b) => b.type === 'tool_result');
    expect(toolUse).toMatchObject({ name: 'Bash', input: { command: 'echo hello-from-tool' } });
    expect(toolResult).toMatchObject({ tool_use_id: toolUse!.id, is_error: false });
    expect(JSON.stringify(toolResult!.content)).toContain('hello-from-tool');
    // The thinking block comes back verbatim, signature included.
    const thinking = messages.flatMap(blocksOf).find((b) => b.type === 'thinking');
    expect(thinking).toMatchObject({ thinking: 'The user wants a command run.', signature: expect.any(String) });
  });

  it('prints an upstream HTTP error and exits 1 after a single request', async () => {
    fake = await startAnthropicMessagesFake({ httpError: { status: 500, message: 'fake upstream broke' } });
    const run = await runClaude({ baseUrl: fake.url, apiKey: 'sk-ant-fake-key', prompt: 'say hi' });
    expect(run.stdout, explain(run)).toContain('API Error: 500 fake upstream broke');
    expect(run.code, explain(run)).toBe(1);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('real Codex CLI against the fake Responses upstream', () => {
  it('prints the text of a text turn', async () => {
    fake = await startOpenAIResponsesFake({ text: ['Hello ', 'from the ', 'fake upstream.'] });
    const run = await runCodex({ baseUrl: `${fake.url}/v1`, apiKey: 'sk-fake-key', prompt: 'say hi' });
    console.log(`codex text turn: ${run.durationMs} ms, ${fake.requests.length} request(s)`);
    expect(run.stdout.trim(), explain(run)).toBe('Hello from the fake upstream.');
    expect(run.code, explain(run)).toBe(0);

    const [request] = fake.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/v1/responses' });
    expect(request.headers.authorization).toBe('Bearer sk-fake-key');
    const body = request.json();
    expect(body).toMatchObject({ stream: true, store: false, model: 'gpt-5.1-codex-mini' });
  });

  it('runs an exec_command call, sends its function_call_output back, and prints the final text', async () => {
    fake = await startOpenAIResponsesFake([
      { reasoning: ['Run the ', 'command.'], toolCalls: [{ name: 'exec_command', arguments: { cmd: 'echo hello-from-tool' } }] },
      { text: ['The command printed hello-from-tool.'] },
    ]);
    const run = await runCodex({ baseUrl: `${fake.url}/v1`, apiKey: 'sk-fake-key', prompt: 'run echo hello-from-tool' });
    console.log(`codex tool turn: ${run.durationMs} ms, ${fake.requests.length} request(s)`);
    expect(run.stdout.trim(), explain(run)).toBe('The command printed hello-from-tool.');
    expect(run.code, explain(run)).toBe(0);

    expect(fake.requests).toHaveLength(2);
    const input = fake.requests[1].json().input as RecordedJson[];
    const call = input.find((item) => item.type === 'function_call');
    const output = input.find((item) => item.type === 'function_call_output');
    expect(call).toMatchObject({ name: 'exec_command', call_id: expect.stringMatching(/^call_/) });
    expect(output).toMatchObject({ call_id: call!.call_id });
    expect(output!.output).toContain('hello-from-tool');
    // The reasoning item comes back with its encrypted_content (the request asks for it, store is false).
    const reasoning = input.find((item) => item.type === 'reasoning');
    expect(reasoning).toMatchObject({ encrypted_content: expect.any(String) });
  });

  // A 4xx message is shown as sent; for 5xx Codex prints its own "high demand" text instead.
  it('reports an upstream 400 message and exits 1 after a single request', async () => {
    fake = await startOpenAIResponsesFake({ httpError: { status: 400, message: 'fake upstream broke' } });
    const run = await runCodex({ baseUrl: `${fake.url}/v1`, apiKey: 'sk-fake-key', prompt: 'say hi' });
    expect(run.stderr, explain(run)).toContain('fake upstream broke');
    expect(run.code, explain(run)).toBe(1);
    expect(fake.requests).toHaveLength(1);
  });
});

function blocksOf(message: { content: unknown }): RecordedJson[] {
  return Array.isArray(message.content) ? (message.content) : [];
}
