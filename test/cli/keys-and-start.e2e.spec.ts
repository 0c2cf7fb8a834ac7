import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPiapi, spawnPiapi } from './cli-process.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'piapi-cli-'));
});
afterEach(() => rm(home, { recursive: true, force: true }));

const CONFIG = (user: string) => `providers:
  - name: demo
    apiKeys: { demo-key: not-a-secret }
    services: [{ type: echo, baseUrl: "http://127.0.0.1:9/_demo/echo" }]
users:
  - { name: dev, ${user}, providerName: demo, providerKeyName: demo-key }
`;

describe('piapi keys new', () => {
  it('prints a fresh random piapi- key and the sha256 hash of exactly that key', async () => {
    const first = await runPiapi(['keys', 'new']);
    const second = await runPiapi(['keys', 'new']);

    expect(first.code).toBe(0);
    const [, key, hash] = /^key: {2}(piapi-[A-Za-z0-9_-]{43})\nhash: (sha256:[0-9a-f]{64})\n$/.exec(first.stdout) ?? [];
    expect(key, first.stdout).toBeDefined();
    expect(hash).toBe(`sha256:${createHash('sha256').update(key).digest('hex')}`);
    expect(second.stdout).not.toContain(key);
  });

  it('prints a hash the gateway accepts for the key', async () => {
    const [, key, hash] = /key: {2}(\S+)\nhash: (\S+)/.exec((await runPiapi(['keys', 'new'])).stdout)!;
    const path = join(home, 'config.yaml');
    await writeFile(path, CONFIG(`apiKeyHash: "${hash}"`));
    const gateway = spawnPiapi(['start', '--config', path, '--listen', '127.0.0.1:0'], { env: { HOME: home } });
    try {
      const [, url] = await gateway.waitFor(/piapi listening on (http:\/\/\S+)/);
      const accepted = await fetch(`${url}/piapi/unknown-service`, { headers: { authorization: `Bearer ${key}` } });
      const refused = await fetch(`${url}/piapi/unknown-service`, { headers: { authorization: 'Bearer piapi-some-other-key-000' } });
      // Past authentication the request fails for its service, not its key.
      expect(accepted.status).toBe(404);
      expect(refused.status).toBe(401);
    } finally {
      gateway.child.kill('SIGKILL');
      await gateway.exited;
    }
  });
});

describe('piapi start', () => {
  it('uses ~/.piapi/config.yaml when no --config is given', async () => {
    await mkdir(join(home, '.piapi'));
    await writeFile(join(home, '.piapi', 'config.yaml'), CONFIG('apiKey: piapi-user-home-0123456789'));
    const gateway = spawnPiapi(['start', '--listen', '127.0.0.1:0'], { env: { HOME: home }, cwd: home });
    try {
      const [, url, configPath] = await gateway.waitFor(/piapi listening on (http:\/\/\S+) \(config (\S+)\)/);
      expect(configPath).toBe(join(home, '.piapi', 'config.yaml'));
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      gateway.child.kill('SIGKILL');
      await gateway.exited;
    }
  });

  it('reports every error of an invalid config, without a stack trace, and exits 1', async () => {
    const path = join(home, 'bad.yaml');
    await writeFile(path, 'providers: 3\nusers: []\n');

    const run = await runPiapi(['start', '--config', path], { env: { HOME: home } });

    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`piapi: invalid config ${path}:\n  providers: must be a list\n`);
  });
});

describe('every command', () => {
  const commands = [['start'], ['ui'], ['login'], ['code'], ['codex'], ['env'], ['keys', 'new'], ['keys', 'status'], ['config', 'validate']];
  for (const command of commands) {
    it(`explains itself with piapi ${command.join(' ')} --help`, async () => {
      const run = await runPiapi([...command, '--help']);

      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^Usage: piapi ${command.join(' ')} `));
    });
  }

  it('answers an unknown command with one line and exit code 1', async () => {
    const run = await runPiapi(['serve']);

    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/unknown command 'serve'/);
  });

  it('answers an unknown option with one line and exit code 1', async () => {
    const run = await runPiapi(['env', '--frobnicate']);

    expect(run.code).toBe(1);
    expect(run.stderr).toBe("error: unknown option '--frobnicate'\n");
  });
});
