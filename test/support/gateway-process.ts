import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/piapi.js', import.meta.url));

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Runs `piapi start` as a real process (needs `dist/`, built by the global setup); `nodeArgs`
 * go before the script (e.g. an `--import` preload).
 */
export async function spawnGateway(configPath: string, env: NodeJS.ProcessEnv = {}, node = process.execPath, nodeArgs: readonly string[] = []): Promise<GatewayProcess> {
  const child = spawn(node, [...nodeArgs, BIN, 'start', '--config', configPath, '--listen', '127.0.0.1:0'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${out}`)), 20_000);
    const check = () => {
      const match = /piapi listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stderr?.on('data', check);
    void exited.then(() => reject(new Error(`gateway exited:\n${out}`)));
  });
  return { child, url, output: () => out, exited };
}

/** Kills a gateway still running (SIGKILL) and waits for it to exit; for test cleanup. */
export async function killGateway(gw: GatewayProcess | undefined): Promise<void> {
  if (!gw || gw.child.exitCode !== null || gw.child.signalCode !== null) return;
  gw.child.kill('SIGKILL');
  await gw.exited;
}
