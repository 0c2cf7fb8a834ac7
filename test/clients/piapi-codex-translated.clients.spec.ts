import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPiapi, type CliRun } from '../cli/cli-process.js';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import { startChatCompletionsFake } from '../fakes/chat-completions.fake.js';
import type { FakeScript } from '../fakes/fake-turn.js';
import type { RecordedJson } from '../fakes/fake-upstream.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { freePort } from '../support/free-port.js';
import { codexJs } from './clients.js';

// `piapi codex` running the real Codex CLI on a provider with only an `llm` block: Codex posts
// /v1/responses and the gateway translates to the fake's Anthropic Messages or chat completions.

const USER_KEY = 'piapi-user-codex-llm-000001';
const QUIET = ['-c', 'analytics.enabled=false', '-c', 'features.plugins=false'];
const EXEC = ['--skip-git-repo-check', '--color', 'never', '-m', 'gpt-5.1-codex-mini'];

interface Target {
  name: string;
  start: (s: FakeScript) => Promise<ProviderFake>;
  llm: (fake: ProviderFake) => string;
  /** The text of every tool result the upstream received. */
  toolResults: (body: RecordedJson) => string[];
  lastUserText: (body: RecordedJson) => string;
}

const TARGETS: Target[] = [
  {
    name: 'anthropic-messages',
    start: startAnthropicMessagesFake,
    llm: (f) => `{ provider: anthropic, api: anthropic-messages, baseUrl: "${f.url}", defaultModel: claude-test }`,
    toolResults: (b) =>
      b.messages
        .flatMap((m: RecordedJson) => (Array.isArray(m.content) ? m.content : []))
        .filter((c: RecordedJson) => c.type === 'tool_result')
        .map((c: RecordedJson) => JSON.stringify(c.content)),
    lastUserText: (b) => JSON.stringify(b.messages.at(-1).content),
  },
  {
    name: 'openai-completions',
    start: startChatCompletionsFake,
    llm: (f) => `{ provider: openai, api: openai-completions, baseUrl: "${f.url}/v1", defaultModel: gpt-test }`,
    toolResults: (b) => b.messages.filter((m: RecordedJson) => m.role === 'tool').map((m: RecordedJson) => JSON.stringify(m.content)),
    lastUserText: (b) => JSON.stringify(b.messages.at(-1).content),
  },
];

let home: string;
let fake: ProviderFake | undefined;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'piapi-codex-llm-'));
  await mkdir(join(home, '.codex'));
  await mkdir(join(home, 'project'));
});
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  await rm(home, { recursive: true, force: true });
});

async function config(target: Target, f: ProviderFake): Promise<string> {
  const path = join(home, 'config.yaml');
  await writeFile(
    path,
    `listen: "127.0.0.1:${await freePort()}"
providers:
  - name: llm-only
    apiKeys: { main: sk-upstream-llm-0001 }
    llm: ${target.llm(f)}
users:
  - { name: dev, apiKey: ${USER_KEY}, providerName: llm-only, providerKeyName: main }
`,
  );
  return path;
}

function piapiCodex(configPath: string, execArgs: string[]): Promise<CliRun> {
  return runPiapi(['codex', '--config', configPath, '--codex', codexJs, '--', ...QUIET, 'exec', ...execArgs], {
    cwd: join(home, 'project'),
    env: { HOME: home, CODEX_HOME: join(home, '.codex'), NO_PROXY: '127.0.0.1,localhost', TERM: 'dumb' },
    timeoutMs: 120_000,
  });
}

function explain(run: CliRun): string {
  return `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

describe.each(TARGETS)('piapi codex, real Codex CLI, llm-only provider → $name', (target) => {
  it('answers a text turn through the translation', async () => {
    fake = await target.start({ text: ['Hello ', 'from the translation.'] });
    const run = await piapiCodex(await config(target, fake), [...EXEC, '--ephemeral', 'say hi']);
    expect(run.stdout.trim(), explain(run)).toBe('Hello from the translation.');
    expect(run.code, explain(run)).toBe(0);
    expect(target.lastUserText(fake.requests[0].json())).toContain('say hi');
  });

  it('runs a shell command for a tool call, sends its output back, and carries the history into a resumed turn', async () => {
    fake = await target.start((req) => {
      const body = req.json<RecordedJson>();
      const last = target.lastUserText(body);
      if (last.includes('what did it print')) return { text: ['It printed the marker.'] };
      if (target.toolResults(body).length > 0) return { text: ['The command ran.'] };
      return { toolCalls: [{ name: 'exec_command', arguments: { cmd: 'echo piapi-marker-42' } }] };
    });
    const path = await config(target, fake);
    const first = await piapiCodex(path, [...EXEC, 'run echo piapi-marker-42']);
    expect(first.stdout.trim(), explain(first)).toBe('The command ran.');
    expect(first.code, explain(first)).toBe(0);
    const withResult = fake.requests.map((r) => r.json<RecordedJson>()).find((b) => target.toolResults(b).length > 0);
    expect(withResult, 'no request carried the tool output').toBeDefined();
    expect(target.toolResults(withResult).join('')).toContain('piapi-marker-42');

    const before = fake.requests.length;
    const resumed = await piapiCodex(path, [...EXEC, 'resume', '--last', 'what did it print?']);
    expect(resumed.stdout.trim(), explain(resumed)).toBe('It printed the marker.');
    const history = fake.requests.at(-1)!.json<RecordedJson>();
    expect(fake.requests.length).toBeGreaterThan(before);
    expect(target.toolResults(history).join(''), 'the resumed turn lost the tool history').toContain('piapi-marker-42');
    expect(JSON.stringify(history)).toContain('The command ran.');
  });
});
