import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeCodexJwt } from '../fakes/fake-jwt.js';
import type { RecordedRequest } from '../fakes/fake-upstream.js';
import { startOpenAIResponsesFake } from '../fakes/openai-responses.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { runClaude, type ClientRun } from './clients.js';

const USER_KEY = 'piapi-user-claude-code-0001';

function explain(run: ClientRun): string {
  return `exit ${run.code} in ${run.durationMs} ms\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

function hasToolOutput(req: RecordedRequest): boolean {
  const input = req.json<{ input?: { type?: string; output?: unknown }[] }>().input ?? [];
  return input.some((item) => item.type === 'function_call_output' && JSON.stringify(item.output).includes('hello-from-tool'));
}

/** Real Claude Code → piapi /v1/messages → pi-ai → a fake ChatGPT Codex backend. */
describe('real Claude Code through piapi to a Codex upstream', () => {
  let fake: ProviderFake;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startOpenAIResponsesFake(
      (req) => {
        if (hasToolOutput(req)) return { text: ['The command printed ', 'hello-from-tool.'] };
        if (req.text().includes('run echo')) {
          return { toolCalls: [{ name: 'Bash', arguments: { command: 'echo hello-from-tool', description: 'Echo' } }] };
        }
        return { reasoning: ['Greeting the user.'], text: ['Hello ', 'through piapi ', 'from Codex.'], usage: { inputTokens: 900, outputTokens: 6 } };
      },
      { flavor: 'codex' },
    );
    gw = await startTestGateway(`
providers:
  - name: team-codex
    apiKeys: { main: ${fakeCodexJwt({ accountId: 'acc-claude-code' })} }
    llm:
      provider: openai-codex
      api: openai-codex-responses
      baseUrl: ${fake.url}
      defaultModel: gpt-5.1-codex-mini
models:
  default: { team-codex: gpt-5.1-codex }
users:
  - { name: dev, apiKey: ${USER_KEY}, providerName: team-codex, providerKeyName: main }
`);
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });

  it('prints the answer of a text turn', async () => {
    const run = await runClaude({ baseUrl: gw.url, apiKey: USER_KEY, prompt: 'say hi' });
    expect(run.stdout.trim(), explain(run)).toBe('Hello through piapi from Codex.');
    expect(run.code, explain(run)).toBe(0);
    const upstream = fake.requests.at(-1)!;
    expect(upstream.path).toBe('/codex/responses');
    expect(upstream.json<{ model: string }>().model).toBe('gpt-5.1-codex');
  });

  it('runs a Bash tool turn: the tool result reaches Codex under its own call id and the final text prints', async () => {
    const before = fake.requests.length;
    const run = await runClaude({ baseUrl: gw.url, apiKey: USER_KEY, prompt: 'run echo hello-from-tool', args: ['--allowedTools', 'Bash'] });
    expect(run.stdout.trim(), explain(run)).toBe('The command printed hello-from-tool.');
    expect(run.code, explain(run)).toBe(0);
    const turn = fake.requests.slice(before);
    expect(turn.length).toBeGreaterThanOrEqual(2);
    const last = turn.at(-1)!.json<{ input: { type: string; call_id?: string }[] }>();
    const call = last.input.find((i) => i.type === 'function_call');
    const output = last.input.find((i) => i.type === 'function_call_output');
    expect(call?.call_id).toMatch(/^call_/);
    expect(output?.call_id).toBe(call?.call_id);
  });
});
