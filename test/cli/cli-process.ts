import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PIAPI_BIN = fileURLToPath(new URL('../../bin/piapi.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The whole environment besides PATH: nothing leaks in from the test runner's. */
  env?: NodeJS.ProcessEnv;
  /** Node options before the script, e.g. an `--import` preload. */
  nodeArgs?: string[];
  /** `pipe` to write to stdin; `ignore` (default) gives the process an empty, closed stdin. */
  stdin?: 'pipe' | 'ignore';
  cwd?: string;
  timeoutMs?: number;
}

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout + stderr as they arrive. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  write(text: string): void;
  exited: Promise<CliRun>;
}

/** `node bin/piapi.js <args>` as a real process (needs `dist/`, built by the global setup). */
export function spawnPiapi(args: readonly string[], options: CliOptions = {}): CliProcess {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), PIAPI_BIN, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, LANG: 'C.UTF-8', NO_COLOR: '1', ...options.env },
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
    notify();
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
    notify();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const exited = new Promise<CliRun>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      notify();
      resolve({ code, stdout, stderr });
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    write: (text) => child.stdin!.write(text),
    exited,
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = (stdout + stderr).match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          } else if (done) {
            cleanup();
            reject(new Error(`process exited without printing ${pattern}:\n${stdout}${stderr}`));
          }
        };
        const giveUp = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${stdout}${stderr}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(giveUp);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
  };
}

export function runPiapi(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return spawnPiapi(args, options).exited;
}
