import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempDir } from '../support/config-file-updates.js';
import { toYaml, validConfig } from '../support/config-fixtures.js';

const ROOT = resolve(import.meta.dirname, '../..');
const EXAMPLE = join(ROOT, 'config/piapi.example.yaml');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node bin/piapi.js config validate <file>` as a real process. */
async function validate(file: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['bin/piapi.js', 'config', 'validate', file], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('piapi config validate', () => {
  let dir: { path: string; remove(): Promise<void> };

  // dist/ is built once per run by test/global-setup.ts.
  beforeAll(async () => {
    dir = await createTempDir();
  });
  afterAll(() => dir.remove());

  async function file(name: string, text: string): Promise<string> {
    const path = join(dir.path, name);
    await writeFile(path, text);
    return path;
  }

  it('prints OK and exits 0 for the example config', async () => {
    const run = await validate(EXAMPLE);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(`${EXAMPLE}: OK (1 providers, 1 users)\n`);
  });

  it('prints OK and exits 0 for a valid config whose variables are set', async () => {
    const config = validConfig();
    config.providers[0].apiKeys['main-key'] = '${ALPHA_KEY}';
    const run = await validate(await file('env.yaml', toYaml(config)), { ALPHA_KEY: 'sk-from-env' });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/: OK \(2 providers, 3 users\)\n$/);
  });

  it('prints every error with its path and exits non-zero', async () => {
    const config = validConfig();
    config.providers[0].services[1].auht = { mode: 'header', name: 'x' };
    config.providers[1].services[0].baseUrl = 'beta.example.com';
    config.users[2].providerKeyName = 'backup';
    config.providers[0].apiKeys['main-key'] = '${ALPHA_KEY}';
    const path = await file('broken.yaml', toYaml(config));
    const run = await validate(path);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')).toEqual([
      `${path}: 4 error(s)`,
      '  providers[0].apiKeys.main-key: environment variable ALPHA_KEY is not set (use ${ALPHA_KEY:-default} for a default)',
      '  providers[0].services[1].auht: unknown field',
      '  providers[1].services[0].baseUrl: "beta.example.com" is not an absolute http(s) URL without query, fragment or credentials',
      '  users[2].providerKeyName: "backup" is not a key of provider "provider-alpha"',
      '',
    ]);
  });

  it('prints a YAML error with its line and exits non-zero', async () => {
    const path = await file('duplicate.yaml', 'providers: []\nusers: []\nusers: []\n');
    const run = await validate(path);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('YAML line 3, column 1: duplicate key users');
  });

  it('exits non-zero for a file that does not exist', async () => {
    const run = await validate(join(dir.path, 'missing.yaml'));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ENOENT');
  });
});
