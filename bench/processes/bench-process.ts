import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const KEPT_OUTPUT_CHARS = 8_000;

/** A server under test in a process of its own, so its CPU time and RSS can be read apart. */
export interface BenchProcess {
  readonly name: string;
  readonly pid: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Spawn → listening, in ms. */
  readonly startupMs: number;
  /** The last few KB of what the process wrote to stderr (and stdout, unless redirected). */
  output(): string;
  /** Asks a bench server (over IPC) for its counters. */
  stats<T>(): Promise<T>;
  stop(): Promise<void>;
}

/** Messages a bench server sends its parent. */
export type ServerMessage = { type: 'listening'; url: string } | { type: 'stats'; stats: unknown };

/**
 * Starts a bench server (`bench/servers/*.server.ts`, run through tsx) and waits until it has
 * announced its URL over IPC.
 */
export async function spawnBenchServer(
  name: string,
  entry: string,
  env: NodeJS.ProcessEnv = {},
  nodeArgs: readonly string[] = [],
): Promise<BenchProcess> {
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', fileURLToPath(new URL(`../servers/${entry}`, import.meta.url))], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const output = captureOutput(child);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start in time`)), START_TIMEOUT_MS);
    const onMessage = (message: ServerMessage): void => {
      if (message.type !== 'listening') return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(message.url);
    };
    const onExit = (): void => fail(new Error(`${name} exited before listening:\n${output()}`));
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.kill('SIGKILL');
      reject(error);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  return handle(name, child, url, performance.now() - started, output);
}

export interface PiapiProcessOptions {
  configPath: string;
  /** The gateway's JSON log lines (stdout) go here: written for real, never read by the bench. */
  logFile: string;
  /** Run under `node --cpu-prof`, writing `piapi-<label>.cpuprofile` into this directory on exit. */
  profileDir?: string;
  label: string;
  /** `--workers`: gateway processes under one primary (default 1, no primary). */
  workers?: number;
  /** A checkout to run `bin/piapi.js` of (default this one); it must have dist/ built. */
  checkout?: string;
}

/** `piapi start` from dist/, exactly as it is deployed, listening on a free loopback port. */
export async function spawnPiapi(options: PiapiProcessOptions): Promise<BenchProcess> {
  const nodeArgs: string[] = [];
  if (options.profileDir) {
    mkdirSync(options.profileDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=piapi-${options.label}.cpuprofile`);
  }
  // Extra node flags for the piapi processes only, e.g. BENCH_PIAPI_NODE_ARGS="--heap-prof --heap-prof-dir=/tmp/hp".
  nodeArgs.push(...(process.env.BENCH_PIAPI_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== ''));
  const logFd = openSync(options.logFile, 'a');
  const started = performance.now();
  const checkout = options.checkout ?? REPO;
  const child = spawn(
    process.execPath,
    [...nodeArgs, join(checkout, 'bin/piapi.js'), 'start', '--config', options.configPath, '--listen', '127.0.0.1:0', '--workers', String(options.workers ?? 1)],
    {
      cwd: checkout,
      // No readiness delay on SIGTERM: the bench stops gateways between items.
      env: { ...process.env, PIAPI_SHUTDOWN_DELAY_MS: '0' },
      stdio: ['ignore', logFd, 'pipe'],
    },
  );
  closeSync(logFd);
  const output = captureOutput(child);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('piapi did not start in time')), START_TIMEOUT_MS);
    const onData = (): void => {
      const match = /piapi listening on (http:\/\/\S+)/.exec(output());
      if (!match) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stderr?.off('data', onData);
      resolve(match[1]);
    };
    const onExit = (): void => fail(new Error(`piapi exited before listening:\n${output()}`));
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.kill('SIGKILL');
      reject(error);
    };
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
  return handle(`piapi (${options.label})`, child, url, performance.now() - started, output);
}

function handle(name: string, child: ChildProcess, url: string, startupMs: number, output: () => string): BenchProcess {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    name,
    pid: child.pid!,
    url,
    startupMs,
    output,
    stats: <T>() =>
      new Promise<T>((resolve, reject) => {
        if (!child.connected) {
          reject(new Error(`${name} has no IPC channel`));
          return;
        }
        const onMessage = (message: ServerMessage): void => {
          if (message.type !== 'stats') return;
          child.off('message', onMessage);
          resolve(message.stats as T);
        };
        child.on('message', onMessage);
        child.send({ type: 'stats' });
      }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

function captureOutput(child: ChildProcess): () => string {
  let kept = '';
  const keep = (chunk: Buffer): void => {
    kept = (kept + chunk.toString('utf8')).slice(-KEPT_OUTPUT_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => kept;
}
