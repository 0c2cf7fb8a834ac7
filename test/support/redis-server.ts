import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';

const SETUP = fileURLToPath(new URL('../../scripts/setup-redis.sh', import.meta.url));

/** Makes sure Debian's redis-server is installed (scripts/setup-redis.sh). */
export function ensureRedis(): void {
  execFileSync('bash', [SETUP], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
}

/**
 * A real redis-server of a test's own, on a free port of 127.0.0.1, persistence off. It can be
 * killed, paused (SIGSTOP: a server that stops answering but keeps its connections) and started
 * again on the same port, empty (as a restarted Redis without persistence is).
 */
export class TestRedis {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(readonly port: number) {}

  static async start(): Promise<TestRedis> {
    ensureRedis();
    const redis = new TestRedis(await freePort());
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** A plain client (no key prefix) to look at what the gateway stored. */
  client(): Redis {
    return new Redis(this.url, { maxRetriesPerRequest: 1 });
  }

  /** Starts the server (again) on its port and waits until it answers. */
  async restart(): Promise<void> {
    await this.kill();
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
      }
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server did not start on ${this.port}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL: connections drop at once, new ones are refused. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGSTOP: the server keeps its connections but answers nothing. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    await this.kill();
    this.child = undefined;
  }
}
