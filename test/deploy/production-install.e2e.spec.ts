import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, repoPath } from './support/repo-files.js';

const run = promisify(execFile);

/**
 * What the image's runtime stage holds, built the same way: `npm run build`, then package.json,
 * package-lock.json, dist/, bin/ and config/ with `npm ci --omit=dev`. Catches runtime imports of
 * devDependencies and files the start command needs but the image would not have.
 */
describe('piapi started from a production install', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let output = '';
  let url: string;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'piapi-prod-'));
    for (const path of ['package.json', 'package-lock.json', 'bin', 'config']) {
      cpSync(repoPath(path), join(dir, path), { recursive: true });
    }
    // Independent, so in parallel. `npm run build` writes to the temp dir: the repo's dist/,
    // which other tests use, is untouched.
    await Promise.all([
      run('npm', ['run', 'build', '--', '--outDir', join(dir, 'dist')], { cwd: REPO_ROOT }),
      run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
        cwd: dir,
        maxBuffer: 16 * 1024 * 1024,
      }),
    ]);

    child = spawn(
      process.execPath,
      ['bin/piapi.js', 'start', '--config', 'config/piapi.example.yaml', '--listen', '127.0.0.1:0'],
      {
        cwd: dir,
        // No PIAPI_* from the developer's shell; no serve-through delay on SIGTERM.
        env: { PATH: process.env.PATH, HOME: dir, NODE_ENV: 'production', PIAPI_SHUTDOWN_DELAY_MS: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    exited = new Promise((resolve) => child?.once('exit', (code, signal) => resolve({ code, signal })));
    // Listening on port 0 and reading the announced URL avoids racing another process for a port.
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`piapi did not start:\n${output}`)), 20_000);
      child?.stderr?.on('data', () => {
        const match = /piapi listening on (http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      void exited.then(() => reject(new Error(`piapi exited at startup:\n${output}`)));
    });
  }, 120_000);

  afterAll(() => {
    if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has no devDependencies installed', () => {
    for (const dev of ['typescript', 'vitest', '@swc/core', 'eslint']) {
      expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false);
    }
  });

  it('answers GET /healthz with 200 {"ok":true}', async () => {
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('is ready: GET /readyz answers 200', async () => {
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('serves Prometheus metrics on /metrics', async () => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('piapi_config_info');
  });

  it('exits 0 on SIGTERM, the image STOPSIGNAL', async () => {
    child?.kill('SIGTERM');
    const timeout = new Promise<never>((_resolve, reject) =>
      setTimeout(() => reject(new Error(`piapi did not exit after SIGTERM:\n${output}`)), 15_000).unref(),
    );
    expect(await Promise.race([exited, timeout])).toEqual({ code: 0, signal: null });
  });
});
