import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SUMMARY_REQUEST } from '../../src/responses/compaction.js';
import { runPiapi } from '../cli/cli-process.js';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import type { RecordedJson } from '../fakes/fake-upstream.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { freePort } from '../support/free-port.js';
import { killGateway, spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { codexJs } from './clients.js';
import { runHeadless, type HeadlessRun } from './run-headless.js';

// Codex compacting a long session through the gateway, on an llm-only provider (fake Anthropic).
// A tiny model_auto_compact_token_limit makes the turn after a 9,000-token answer compact first.
// Codex 0.169 has two paths, chosen by the provider it is configured with:
// - a custom provider (what `piapi codex` writes): local compaction, an ordinary /responses turn
//   asking for a summary, which the gateway translates like any other;
// - its built-in OpenAI provider with openai_base_url at the gateway: remote compaction, a
//   /responses request ending in a compaction_trigger item that must come back as exactly one
//   compaction item (src/responses/compaction.ts); that provider also tries a WebSocket first.

const USER_KEY = 'piapi-user-compact-000001';
const SUMMARY = 'Handoff notes: the user asked a first question. marker-4711';
const FIRST_ANSWER = 'First answer, long enough to need compaction.';
const CODEX_LOCAL_PROMPT = 'CONTEXT CHECKPOINT COMPACTION';

let home: string;
let fake: ProviderFake;
let gateway: GatewayProcess | undefined;

function lastUserText(body: RecordedJson): string {
  return JSON.stringify(body.messages.at(-1));
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'piapi-codex-compact-'));
  await mkdir(join(home, '.codex'));
  await mkdir(join(home, 'project'));
  fake = await startAnthropicMessagesFake((req) => {
    const last = lastUserText(req.json<RecordedJson>());
    if (last.includes(CODEX_LOCAL_PROMPT) || last.includes(SUMMARY_REQUEST)) return { text: [SUMMARY], usage: { inputTokens: 60, outputTokens: 12 } };
    if (last.includes('second question')) return { text: ['Second answer.'], usage: { inputTokens: 80, outputTokens: 3 } };
    return { text: [FIRST_ANSWER], usage: { inputTokens: 9000, outputTokens: 100 } };
  });
});
afterEach(async () => {
  await killGateway(gateway);
  gateway = undefined;
  await fake.close();
  await rm(home, { recursive: true, force: true });
});

async function gatewayConfig(): Promise<string> {
  const path = join(home, 'config.yaml');
  await writeFile(
    path,
    `listen: "127.0.0.1:${await freePort()}"
providers:
  - name: llm-only
    apiKeys: { main: sk-upstream-compact-0001 }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: "${fake.url}", defaultModel: claude-test }
users:
  - { name: dev, apiKey: ${USER_KEY}, providerName: llm-only, providerKeyName: main }
`,
  );
  return path;
}

function explain(run: { code: number | null; stdout: string; stderr: string }): string {
  return `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

/** The upstream requests: the summary request, and the turn after it. */
function compactionExchange(marker: string): { summaryRequest: RecordedJson; after: RecordedJson } {
  const bodies = fake.requests.map((r) => r.json<RecordedJson>());
  const at = bodies.findIndex((b) => lastUserText(b).includes(marker));
  expect(at, `no summary request among ${bodies.length} upstream requests`).toBeGreaterThan(-1);
  expect(bodies.length, 'no turn after the compaction').toBe(at + 2);
  return { summaryRequest: bodies[at], after: bodies[at + 1] };
}

describe('Codex compaction through piapi, real Codex CLI, llm-only provider', () => {
  it('compacts locally with `piapi codex` (custom provider): the summary turn is translated and the next turn carries the summary', async () => {
    const path = await gatewayConfig();
    const codex = (execArgs: string[]) =>
      runPiapi(
        ['codex', '--config', path, '--codex', codexJs, '--', '-c', 'analytics.enabled=false', '-c', 'features.plugins=false', '-c', 'model_auto_compact_token_limit=2000', 'exec', '--skip-git-repo-check', '--color', 'never', ...execArgs],
        { cwd: join(home, 'project'), env: { HOME: home, CODEX_HOME: join(home, '.codex'), NO_PROXY: '127.0.0.1,localhost', TERM: 'dumb' }, timeoutMs: 120_000 },
      );
    const first = await codex(['first question']);
    expect(first.stdout.trim(), explain(first)).toBe(FIRST_ANSWER);
    const second = await codex(['resume', '--last', 'second question']);
    expect(second.stdout.trim(), explain(second)).toBe('Second answer.');
    expect(second.code, explain(second)).toBe(0);
    expect(second.stderr).toContain('context compacted');

    const { summaryRequest, after } = compactionExchange(CODEX_LOCAL_PROMPT);
    expect(JSON.stringify(summaryRequest.messages)).toContain(FIRST_ANSWER);
    expect(JSON.stringify(after.messages)).toContain('marker-4711');
    expect(JSON.stringify(after.messages), 'the history was not replaced by the summary').not.toContain(FIRST_ANSWER);
    expect(lastUserText(after)).toContain('second question');
  });

  it('compacts remotely on the built-in OpenAI provider: one compaction item from the target model, its summary in the next turn, no WebSocket retries', async () => {
    gateway = await spawnGateway(await gatewayConfig());
    await writeFile(
      join(home, '.codex', 'config.toml'),
      `model = "gpt-5.1-codex-mini"
openai_base_url = "${gateway.url}/v1"
approval_policy = "never"
sandbox_mode = "read-only"
model_auto_compact_token_limit = 2000

[analytics]
enabled = false

[features]
plugins = false
`,
    );
    const codex = (args: string[]): Promise<HeadlessRun> =>
      runHeadless(process.execPath, [codexJs, 'exec', '--skip-git-repo-check', '--color', 'never', ...args], {
        cwd: join(home, 'project'),
        timeoutMs: 120_000,
        env: { PATH: process.env.PATH, HOME: home, CODEX_HOME: join(home, '.codex'), NO_PROXY: '127.0.0.1,localhost', TERM: 'dumb', CODEX_API_KEY: USER_KEY },
      });
    const first = await codex(['first question']);
    expect(first.stdout.trim(), explain(first)).toBe(FIRST_ANSWER);
    expect(first.stderr, 'provider: openai is what selects remote compaction').toMatch(/provider: openai/);
    const second = await codex(['resume', '--last', 'second question']);
    expect(second.stdout.trim(), explain(second)).toBe('Second answer.');
    expect(second.code, explain(second)).toBe(0);
    expect(second.stderr).toContain('context compacted');
    // GET /v1/responses answers 426: Codex goes to HTTP without reconnecting.
    for (const run of [first, second]) expect(run.stderr, explain(run)).not.toMatch(/Reconnecting|Falling back from WebSockets/);

    const { summaryRequest, after } = compactionExchange(SUMMARY_REQUEST);
    expect(JSON.stringify(summaryRequest.messages)).toContain(FIRST_ANSWER);
    expect(summaryRequest.tools?.length, 'the summary request lost the tools its history needs').toBeGreaterThan(0);
    expect(JSON.stringify(after.messages)).toContain('marker-4711');
    expect(JSON.stringify(after.messages), 'the history was not replaced by the summary').not.toContain(FIRST_ANSWER);
    expect(lastUserText(after)).toContain('second question');
  });
});
