import { spawn, type ChildProcess } from 'node:child_process';
import { PIAPI_BIN } from './cli-process.js';

/** Keys as a terminal sends them. */
export const KEY = {
  enter: '\r',
  down: '\u001b[B',
  up: '\u001b[A',
  ctrlC: '\u0003',
  /** Enough backspaces to clear a pre-filled text prompt. */
  clear: '\u007f'.repeat(60),
} as const;

export interface PtySession {
  /** Waits until `text` appears after everything matched so far (escape sequences removed). */
  expect(text: string, timeoutMs?: number): Promise<void>;
  /** Waits for `pattern` in everything printed so far. */
  match(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  send(keys: string): void;
  /** Everything printed, escape sequences removed. */
  screen(): string;
  exited: Promise<number | null>;
  kill(): void;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]|\u001b\][^\u0007]*\u0007/g;

/**
 * Runs `piapi <args>` in a pseudo-terminal (util-linux `script`), so prompt libraries see a TTY
 * and read raw keys, as they do for a person.
 */
export function spawnPiapiInPty(args: readonly string[], env: NodeJS.ProcessEnv, nodeArgs: readonly string[] = []): PtySession {
  // Wide enough that a login URL is printed on one line.
  const command = ['stty cols 500 rows 50;', 'exec', quote(process.execPath), ...nodeArgs.map(quote), quote(PIAPI_BIN), ...args.map(quote)].join(' ');
  const child: ChildProcess = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { PATH: process.env.PATH, LANG: 'C.UTF-8', TERM: 'xterm-256color', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  let matchedUpTo = 0;
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    raw += chunk.toString('utf8');
    listeners.forEach((l) => l());
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
    listeners.forEach((l) => l());
  });
  const screen = () => raw.replace(ANSI, '');
  const waitUntil = <T>(found: () => T | undefined, what: string, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const result = found();
        if (result !== undefined) {
          finish();
          resolve(result);
        } else if (done) {
          finish();
          reject(new Error(`exited before showing ${what}:\n${screen()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${what} not shown within ${timeoutMs} ms:\n${screen()}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  return {
    screen,
    send: (keys) => child.stdin!.write(keys),
    kill: () => child.kill('SIGKILL'),
    exited,
    expect: async (text, timeoutMs = 30_000) => {
      matchedUpTo = await waitUntil(
        () => {
          const at = screen().indexOf(text, matchedUpTo);
          return at === -1 ? undefined : at + text.length;
        },
        JSON.stringify(text),
        timeoutMs,
      );
    },
    match: (pattern, timeoutMs = 30_000) => waitUntil(() => screen().match(pattern) ?? undefined, String(pattern), timeoutMs),
  };
}

function quote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}
