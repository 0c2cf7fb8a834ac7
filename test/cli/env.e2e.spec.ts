import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runPiapi } from './cli-process.js';

// Quotes, a dollar sign and a backslash: each shell's quoting must keep them as they are.
const AWKWARD_KEY = `piapi-it's-"$HOME"-\\x-0123`;
const NAMES = ['PIAPI_URL', 'ANTHROPIC_BASE_URL', 'OPENAI_BASE_URL', 'PIAPI_API_KEY', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY'];

// In CI the shells are installed, so every shell is really evaluated there (never pattern-only).
beforeAll(() => {
  if (process.env.CI) execFileSync('bash', ['scripts/setup-shells.sh'], { stdio: 'inherit', timeout: 300_000 });
}, 300_000);

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'piapi-env-'));
});
afterEach(() => rm(home, { recursive: true, force: true }));

async function config(listen: string, apiKey = 'piapi-user-env-0123456789'): Promise<string> {
  const path = join(home, 'config.yaml');
  await writeFile(
    path,
    `listen: "${listen}"
providers: [{ name: p, apiKeys: { k: sk-x }, services: [{ type: cx, baseUrl: "https://api.openai.com/v1" }] }]
users: [{ name: dev, apiKey: ${JSON.stringify(apiKey)}, providerName: p, providerKeyName: k }]
`,
  );
  return path;
}

function expected(key: string): Record<string, string> {
  return {
    PIAPI_URL: 'http://127.0.0.1:9311',
    ANTHROPIC_BASE_URL: 'http://127.0.0.1:9311',
    OPENAI_BASE_URL: 'http://127.0.0.1:9311/piapi/cx',
    PIAPI_API_KEY: key,
    ANTHROPIC_API_KEY: key,
    OPENAI_API_KEY: key,
  };
}

/** Runs `script` in `shell` with the exports evaluated, printing each variable on its own line. */
function evaluate(shell: 'bash' | 'zsh' | 'fish', exportsText: string): Record<string, string> {
  const print = NAMES.map((n) => `printf '%s\\n' "$${n}"`).join('; ');
  const check = shell === 'fish' ? 'set -q ANTHROPIC_AUTH_TOKEN; and echo SET; or echo UNSET' : '[ -n "${ANTHROPIC_AUTH_TOKEN+x}" ] && echo SET || echo UNSET';
  const result = spawnSync(shell, ['-c', `eval "$PIAPI_EXPORTS"; ${print}; ${check}`], {
    env: { PATH: process.env.PATH, HOME: home, PIAPI_EXPORTS: exportsText, ANTHROPIC_AUTH_TOKEN: 'clashing' },
    encoding: 'utf8',
  });
  expect(result.status, result.stderr).toBe(0);
  const lines = result.stdout.split('\n');
  expect(lines[NAMES.length]).toBe('UNSET');
  return Object.fromEntries(NAMES.map((n, i) => [n, lines[i]]));
}

function installed(shell: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;
}

describe('piapi env', () => {
  it('points OpenAI clients at the translated /v1 when the key\'s provider has only an llm block', async () => {
    const path = join(home, 'config.yaml');
    await writeFile(
      path,
      `listen: ":9311"
providers: [{ name: p, apiKeys: { k: sk-x }, llm: { provider: anthropic, api: anthropic-messages, defaultModel: claude-test } }]
users: [{ name: dev, apiKey: piapi-user-env-llm-000001, providerName: p, providerKeyName: k }]
`,
    );
    const run = await runPiapi(['env', '--shell', 'bash', '--config', path], { env: { HOME: home } });
    expect(run.code, run.stderr).toBe(0);
    expect(evaluate('bash', run.stdout).OPENAI_BASE_URL).toBe('http://127.0.0.1:9311/v1');
  });

  it('prints bash exports that point clients at the config\'s gateway with the user key', async () => {
    const run = await runPiapi(['env', '--shell', 'bash', '--config', await config(':9311', AWKWARD_KEY)], { env: { HOME: home } });

    expect(run.code, run.stderr).toBe(0);
    expect(evaluate('bash', run.stdout)).toEqual(expected(AWKWARD_KEY));
  });

  it('picks the shell from $SHELL', async () => {
    const run = await runPiapi(['env', '--config', await config('0.0.0.0:9311')], { env: { HOME: home, SHELL: '/usr/bin/fish' } });

    expect(run.stdout).toMatch(/^set -gx PIAPI_URL 'http:\/\/127\.0\.0\.1:9311'$/m);
  });

  // zsh and fish come from Debian packages (apt-get install zsh fish); without them this checks
  // the lines' shape only, and says so.
  for (const shell of ['zsh', 'fish'] as const) {
    it(`prints ${shell} commands that ${shell} evaluates to the same values`, async () => {
      const run = await runPiapi(['env', '--shell', shell, '--config', await config(':9311', AWKWARD_KEY)], { env: { HOME: home } });
      expect(run.code, run.stderr).toBe(0);
      if (installed(shell)) {
        expect(evaluate(shell, run.stdout)).toEqual(expected(AWKWARD_KEY));
      } else {
        expect(process.env.CI, `${shell} must be installed in CI`).toBeUndefined();
        console.warn(`${shell} is not installed: checking the syntax by pattern only`);
        expect(run.stdout).toMatch(shell === 'fish' ? /^set -gx PIAPI_API_KEY '/m : /^export PIAPI_API_KEY='/m);
      }
    });
  }

  // PowerShell is not in Debian's archive: the lines are checked by pattern.
  it('prints PowerShell assignments with single quotes doubled', async () => {
    const run = await runPiapi(['env', '--shell', 'powershell', '--config', await config(':9311', AWKWARD_KEY)], { env: { HOME: home } });

    expect(run.stdout.split('\n')).toEqual([
      "$Env:PIAPI_URL = 'http://127.0.0.1:9311'",
      "$Env:ANTHROPIC_BASE_URL = 'http://127.0.0.1:9311'",
      "$Env:OPENAI_BASE_URL = 'http://127.0.0.1:9311/piapi/cx'",
      `$Env:PIAPI_API_KEY = 'piapi-it''s-"$HOME"-\\x-0123'`,
      `$Env:ANTHROPIC_API_KEY = 'piapi-it''s-"$HOME"-\\x-0123'`,
      `$Env:OPENAI_API_KEY = 'piapi-it''s-"$HOME"-\\x-0123'`,
      'Remove-Item Env:ANTHROPIC_AUTH_TOKEN -ErrorAction SilentlyContinue',
      '',
    ]);
  });

  it('uses --url and --key over the config', async () => {
    const run = await runPiapi(['env', '--shell', 'bash', '--url', 'https://piapi.example.com/', '--key', 'piapi-team-key-0123456789'], {
      env: { HOME: home },
    });

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("export OPENAI_BASE_URL='https://piapi.example.com/piapi/cx'");
    expect(run.stdout).toContain("export ANTHROPIC_API_KEY='piapi-team-key-0123456789'");
  });

  it('leaves the key variables out, with a comment saying why, when no key is known', async () => {
    const path = await config(':9311');
    await writeFile(path, (await readFile(path, 'utf8')).replace(/apiKey: "[^"]*"/, `apiKeyHash: "sha256:${'a'.repeat(64)}"`));

    const run = await runPiapi(['env', '--shell', 'bash', '--config', path], { env: { HOME: home } });

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^# no piapi user key found/);
    expect(run.stdout).not.toMatch(/^(export|unset) \w*(API_KEY|AUTH_TOKEN)/m);
    expect(evaluateKeys(run.stdout)).toBe('');
  });

  it('refuses an unknown shell in one line', async () => {
    const run = await runPiapi(['env', '--shell', 'tcsh', '--url', 'http://x:1'], { env: { HOME: home } });

    expect(run.code).toBe(1);
    expect(run.stderr).toBe('piapi: unknown shell "tcsh": use bash, zsh, fish, powershell\n');
  });
});

function evaluateKeys(exportsText: string): string {
  return spawnSync('bash', ['-c', 'eval "$PIAPI_EXPORTS"; printf %s "$PIAPI_API_KEY"'], {
    env: { PATH: process.env.PATH, PIAPI_EXPORTS: exportsText },
    encoding: 'utf8',
  }).stdout;
}
