import autocannon from 'autocannon';
import type { BenchProcess } from '../processes/bench-process.js';
import { ProcWatch, type ProcDelta } from '../processes/proc-stats.js';
import { median } from '../report/stats.js';

export interface LoadSpec {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
  connections: number;
  /** The processes whose CPU time and RSS the cell reports. */
  watch: readonly BenchProcess[];
}

export interface LoadPlan {
  /** Seconds of measured load per cell, split evenly over the rounds. */
  durationS: number;
  /** Seconds of unmeasured load per cell before its first round, so JITs, pools and caches are warm. */
  warmupS: number;
  /** Cells are measured in turn, `rounds` times over (A B C A B C …), so a change in background load hits every cell alike. */
  rounds: number;
  /**
   * Measure a fixed number of requests per cell (split over the rounds) instead of a duration:
   * for requests so slow that a timed run would end before any completed.
   */
  requests?: number;
  /** Seconds a request may take before autocannon counts a timeout (default 30). */
  timeoutS?: number;
}

export interface LoadResult {
  /** 2xx responses per second over all measured rounds. */
  rps: number;
  /** Lowest and highest req/s of a single round: the spread says how steady the machine was. */
  rpsMin: number;
  rpsMax: number;
  /** Latency of 2xx responses in ms, median over the rounds (autocannon's histogram resolves 1 ms). */
  p50Ms: number;
  p99Ms: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** By process name: CPU time (summed) and RSS (peak, last) over the measured rounds. */
  procs: Map<string, ProcDelta>;
}

/** autocannon against each spec: a warm-up each, then measured rounds taking the cells in turn. */
export async function runLoads(specs: readonly LoadSpec[], plan: LoadPlan): Promise<LoadResult[]> {
  const options = specs.map((spec) => ({
    url: spec.url,
    method: spec.method ?? 'POST',
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections,
    pipelining: 1,
    timeout: plan.timeoutS ?? 30,
  }));
  if (plan.warmupS > 0) for (const o of options) await autocannon({ ...o, duration: plan.warmupS });
  const rounds: RoundResult[][] = specs.map(() => []);
  for (let round = 0; round < plan.rounds; round++) {
    for (const [i, spec] of specs.entries()) {
      const watches = spec.watch.map((p) => [p.name, new ProcWatch(p.pid)] as const);
      const result = await autocannon(
        plan.requests === undefined
          ? { ...options[i], duration: plan.durationS / plan.rounds }
          : { ...options[i], amount: Math.max(specs[i].connections, Math.round(plan.requests / plan.rounds)) },
      );
      rounds[i].push({ result, procs: new Map(watches.map(([name, watch]) => [name, watch.stop()])) });
    }
  }
  return rounds.map(combine);
}

/** One cell: `runLoads` with a single spec. */
export async function runLoad(spec: LoadSpec, plan: LoadPlan): Promise<LoadResult> {
  const [result] = await runLoads([spec], plan);
  return result;
}

interface RoundResult {
  result: autocannon.Result;
  procs: Map<string, ProcDelta>;
}

function combine(rounds: RoundResult[]): LoadResult {
  const ok = rounds.reduce((s, r) => s + r.result['2xx'], 0);
  const seconds = rounds.reduce((s, r) => s + r.result.duration, 0);
  const perRound = rounds.map((r) => r.result['2xx'] / r.result.duration);
  const procs = new Map<string, ProcDelta>();
  for (const { procs: roundProcs } of rounds) {
    for (const [name, d] of roundProcs) {
      const sum = procs.get(name);
      procs.set(
        name,
        sum
          ? { cpuMs: sum.cpuMs + d.cpuMs, writeCalls: sum.writeCalls + d.writeCalls, rssStartMiB: sum.rssStartMiB, rssEndMiB: d.rssEndMiB, rssPeakMiB: Math.max(sum.rssPeakMiB, d.rssPeakMiB) }
          : { ...d },
      );
    }
  }
  return {
    rps: ok / seconds,
    rpsMin: Math.min(...perRound),
    rpsMax: Math.max(...perRound),
    p50Ms: median(rounds.map((r) => r.result.latency.p50)),
    p99Ms: median(rounds.map((r) => r.result.latency.p99)),
    ok,
    non2xx: rounds.reduce((s, r) => s + r.result.non2xx, 0),
    errors: rounds.reduce((s, r) => s + r.result.errors, 0),
    timeouts: rounds.reduce((s, r) => s + r.result.timeouts, 0),
    procs,
  };
}

/** CPU time a process spent per 2xx response of the cell, in µs. */
export function cpuPerRequestUs(result: LoadResult, proc: BenchProcess): number {
  const delta = result.procs.get(proc.name);
  return delta && result.ok > 0 ? (delta.cpuMs * 1000) / result.ok : Number.NaN;
}

/** Write system calls a process made per 2xx response of the cell. */
export function writesPerRequest(result: LoadResult, proc: BenchProcess): number {
  const delta = result.procs.get(proc.name);
  return delta && result.ok > 0 ? delta.writeCalls / result.ok : Number.NaN;
}

/** "11,900–12,800": the lowest and highest req/s of a round; "-" for a single round. */
export function rpsRange(result: LoadResult): string {
  const n = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
  return result.rpsMin === result.rpsMax ? '-' : `${n(result.rpsMin)}–${n(result.rpsMax)}`;
}
