import { Client } from 'undici';
import { median, percentile } from '../report/stats.js';

export interface ProbeSpec {
  url: string;
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Requests, one at a time on one keep-alive connection. */
  count: number;
  /** Unmeasured requests first. */
  warmup: number;
}

export interface ProbeResult {
  /** Request sent → first body byte, in ms. */
  ttfbMs: number[];
  /** Request sent → body ended, in ms. */
  totalMs: number[];
  /** The first response's body, to check the route answered what it should. */
  firstBody: string;
  firstStatus: number;
}

/**
 * Unloaded latency and time to first byte: sequential requests on one connection, timed with
 * hrtime (autocannon's histogram only resolves whole milliseconds).
 */
export async function runProbe(spec: ProbeSpec): Promise<ProbeResult> {
  const client = new Client(spec.url, { pipelining: 1, keepAliveTimeout: 30_000, bodyTimeout: 60_000 });
  const result: ProbeResult = { ttfbMs: [], totalMs: [], firstBody: '', firstStatus: 0 };
  try {
    for (let i = 0; i < spec.warmup + spec.count; i++) {
      const started = process.hrtime.bigint();
      const res = await client.request({
        path: spec.path,
        method: spec.method ?? 'POST',
        headers: spec.headers,
        body: spec.body,
      });
      let firstByte: bigint | undefined;
      let text = '';
      for await (const chunk of res.body) {
        firstByte ??= process.hrtime.bigint();
        if (i === 0) text += (chunk as Buffer).toString('utf8');
      }
      const ended = process.hrtime.bigint();
      if (i === 0) {
        result.firstBody = text;
        result.firstStatus = res.statusCode;
      }
      if (i < spec.warmup) continue;
      result.ttfbMs.push(Number((firstByte ?? ended) - started) / 1e6);
      result.totalMs.push(Number(ended - started) / 1e6);
    }
  } finally {
    await client.close();
  }
  return result;
}

/**
 * `runProbe` for each spec, taking them in turn `rounds` times over with `spec.count / rounds`
 * requests each time (warm-up in the first round only); samples are pooled per spec.
 */
export async function runProbes(specs: readonly ProbeSpec[], rounds: number): Promise<ProbeResult[]> {
  const pooled: ProbeResult[] = specs.map(() => ({ ttfbMs: [], totalMs: [], firstBody: '', firstStatus: 0 }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, spec] of specs.entries()) {
      const count = Math.max(1, Math.round(spec.count / rounds));
      const result = await runProbe({ ...spec, count, warmup: round === 0 ? spec.warmup : 0 });
      if (round === 0) Object.assign(pooled[i], { firstBody: result.firstBody, firstStatus: result.firstStatus });
      pooled[i].ttfbMs.push(...result.ttfbMs);
      pooled[i].totalMs.push(...result.totalMs);
    }
  }
  return pooled;
}

export function probeSummary(samples: readonly number[]): { medianMs: number; p99Ms: number } {
  return { medianMs: median(samples), p99Ms: percentile(samples, 99) };
}
