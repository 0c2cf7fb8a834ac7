import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestRedis } from '../test/support/redis-server.js';
import type { BenchOptions } from './bench-options.js';
import type { LoadPlan } from './load/autocannon-load.js';
import { spawnBenchServer, spawnPiapi, type BenchProcess } from './processes/bench-process.js';

export const PROFILE_DIR = fileURLToPath(new URL('./profiles/', import.meta.url));

/** What items share: options, a scratch directory, and every process started (stopped at the end). */
export class BenchContext {
  private readonly processes: BenchProcess[] = [];
  private readonly sharedProcesses = new Map<string, Promise<BenchProcess>>();
  private redisServer: Promise<TestRedis> | undefined;
  /** The processes run under --cpu-prof, in start order. */
  readonly profiled: ProfiledProcess[] = [];

  private constructor(
    readonly options: BenchOptions,
    readonly dir: string,
  ) {}

  static async create(options: BenchOptions): Promise<BenchContext> {
    return new BenchContext(options, await mkdtemp(join(tmpdir(), 'piapi-bench-')));
  }

  /** How long and in how many rounds each load cell runs. */
  get plan(): LoadPlan {
    return { durationS: this.options.durationS, warmupS: this.options.warmupS, rounds: this.options.rounds };
  }

  /** Prints progress to stderr: stdout carries the report only. */
  progress(message: string): void {
    process.stderr.write(`· ${message}\n`);
  }

  /** A process several items use (the pass-through upstream, the bare proxy), started once. */
  shared(key: string, start: () => Promise<BenchProcess>): Promise<BenchProcess> {
    let proc = this.sharedProcesses.get(key);
    if (!proc) {
      proc = start();
      this.sharedProcesses.set(key, proc);
    }
    return proc;
  }

  /** The pass-through upstream (bench/servers/passthrough-upstream.server.ts). */
  passthroughUpstream(): Promise<BenchProcess> {
    return this.shared('upstream', () => this.server('upstream', 'passthrough-upstream.server.ts'));
  }

  /**
   * A bench server. With --profile, a baseline that piapi is compared with (`profileLabel` set) runs
   * under --cpu-prof too, so its profile can be laid beside piapi's. Its directory may also receive
   * the (idle) profile of tsx's loader thread: the largest file is the main thread's.
   */
  async server(name: string, entry: string, env: NodeJS.ProcessEnv = {}, profileLabel?: string): Promise<BenchProcess> {
    const profileDir = this.options.profile && profileLabel ? join(PROFILE_DIR, profileLabel) : undefined;
    if (profileDir) {
      await rm(profileDir, { recursive: true, force: true });
      await mkdir(profileDir, { recursive: true });
    }
    const proc = await spawnBenchServer(name, entry, env, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
    if (profileDir) {
      this.profiled.push({ label: profileLabel!, startupMs: proc.startupMs, file: () => largestFile(profileDir) });
    }
    this.processes.push(proc);
    return proc;
  }

  /**
   * A real `piapi start` on `configYaml`, logging (info) to a file in the scratch directory. The
   * config gets a directory of its own: piapi watches the config file's directory, and a log file
   * growing beside it would keep the watcher busy.
   */
  async piapi(label: string, configYaml: string, workers = 1, checkout?: string): Promise<BenchProcess> {
    const configDir = join(this.dir, `config-${label}`);
    await mkdir(configDir, { recursive: true });
    const configPath = join(configDir, 'piapi.yaml');
    await writeFile(configPath, configYaml);
    const proc = await spawnPiapi({
      configPath,
      label,
      logFile: join(this.dir, `piapi-${label}.log`),
      // Workers would all write the same profile file: only single-process gateways are profiled.
      profileDir: this.options.profile && workers === 1 ? PROFILE_DIR : undefined,
      workers,
      checkout,
    });
    if (this.options.profile && workers === 1) {
      this.profiled.push({ label: `piapi-${label}`, startupMs: proc.startupMs, file: () => Promise.resolve(join(PROFILE_DIR, `piapi-${label}.cpuprofile`)) });
    }
    this.processes.push(proc);
    return proc;
  }

  /** A real redis-server (Debian's, persistence off) for the limits columns, started once. */
  redis(): Promise<TestRedis> {
    this.redisServer ??= TestRedis.start();
    return this.redisServer;
  }

  /** Commands the bench Redis has processed so far (INFO stats). */
  async redisCommands(): Promise<number> {
    const client = (await this.redis()).client();
    try {
      return Number(/total_commands_processed:(\d+)/.exec(await client.info('stats'))?.[1] ?? Number.NaN);
    } finally {
      client.disconnect();
    }
  }

  /** Bytes piapi `label` has logged so far: proof that logging was on during the measurement. */
  async logBytes(label: string): Promise<number> {
    return (await stat(join(this.dir, `piapi-${label}.log`)).catch(() => ({ size: 0 }))).size;
  }

  async stop(proc: BenchProcess): Promise<void> {
    await proc.stop();
    this.processes.splice(this.processes.indexOf(proc), 1);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.processes.map((p) => p.stop()));
    this.processes.length = 0;
    if (this.redisServer) await (await this.redisServer).stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface ProfiledProcess {
  label: string;
  /** Spawn → listening: the part of the profile that is start-up. */
  startupMs: number;
  /** The `.cpuprofile`, once the process has exited. */
  file: () => Promise<string>;
}

async function largestFile(dir: string): Promise<string> {
  const files = await Promise.all(
    (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).map(async (f) => ({ f, size: (await stat(join(dir, f))).size })),
  );
  const largest = files.sort((a, b) => b.size - a.size)[0];
  if (!largest) throw new Error(`no .cpuprofile in ${dir}`);
  return join(dir, largest.f);
}
