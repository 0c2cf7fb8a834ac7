import type { BenchContext } from '../bench-context.js';
import { PASSTHROUGH_USER_KEY, gatewayConfigYaml } from '../gateway-configs.js';
import { runProbe } from '../load/sequential-probe.js';
import { runStreamSwarm } from '../load/stream-swarm.js';
import { ProcWatch, readProcSnapshot } from '../processes/proc-stats.js';
import { fmt, type ItemReport } from '../report/bench-report.js';
import { median } from '../report/stats.js';
import { PASSTHROUGH_REQUEST_BODY } from '../servers/passthrough-payloads.js';

const RSS_GOAL_MIB = 300e6 / 2 ** 20;

/**
 * Item 4: RSS of a fresh piapi with N concurrent SSE streams through it; the upstream holds each
 * stream open `hold` seconds, one event a second.
 */
export async function memoryItem(ctx: BenchContext): Promise<ItemReport> {
  const { streams, holdS } = ctx.options;
  const upstream = await ctx.passthroughUpstream();
  const piapi = await ctx.piapi('memory', gatewayConfigYaml({ users: 10, upstreamUrl: upstream.url }));
  const headers = { authorization: `Bearer ${PASSTHROUGH_USER_KEY}`, accept: 'text/event-stream' };

  // Warm the code paths the streams take, then let the heap settle before reading the idle RSS.
  await runProbe({ url: piapi.url, path: '/piapi/cx/v1/sse', headers, body: PASSTHROUGH_REQUEST_BODY, count: 50, warmup: 0 });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const idle = readProcSnapshot(piapi.pid);
  const before = (await upstream.stats<{ peakOpen: number; holdsCompleted: number }>()).holdsCompleted;

  ctx.progress(`${streams} streams held ${holdS} s through piapi`);
  const watch = new ProcWatch(piapi.pid, 100);
  const swarm = await runStreamSwarm({
    url: piapi.url,
    path: `/piapi/cx/v1/hold?events=${holdS}&intervalMs=1000`,
    headers,
    streams,
    expectedEvents: holdS + 1,
    batch: 100,
    batchPauseMs: 50,
    deadlineMs: holdS * 1000 * 8 + 30_000,
  });
  const during = watch.stop();
  const upstreamStats = await upstream.stats<{ peakOpen: number; holdsCompleted: number }>();
  const lost = swarm.opened - swarm.completed;

  return {
    title: `Item 4 — memory: ${streams} concurrent SSE streams through piapi (held ${holdS} s, an event a second)`,
    tables: [
      {
        headers: ['streams opened', 'completed', 'lost', 'peak open (client)', 'peak open (upstream)', 'first event median ms', 'first event max ms', 'wall s', 'RSS idle MiB', 'RSS peak MiB', 'RSS end MiB', 'KiB per stream', 'piapi CPU s'],
        rows: [
          [
            fmt(swarm.opened),
            fmt(swarm.completed),
            fmt(lost),
            fmt(swarm.peakOpen),
            fmt(upstreamStats.peakOpen),
            fmt(median(swarm.firstEventMs)),
            fmt(Math.max(...swarm.firstEventMs)),
            fmt(swarm.wallMs / 1000, 1),
            fmt(idle.rssMiB, 1),
            fmt(during.rssPeakMiB, 1),
            fmt(during.rssEndMiB, 1),
            fmt(((during.rssPeakMiB - idle.rssMiB) * 1024) / Math.max(1, swarm.peakOpen)),
            fmt(during.cpuMs / 1000, 2),
          ],
        ],
      },
    ],
    notes: [
      ...[...swarm.failures].map(([reason, count]) => `lost: ${count} × ${reason}`),
      `upstream completed ${upstreamStats.holdsCompleted - before} held streams; "peak open (upstream)" is the most it had open at once`,
      'a first event much later than 1 s, or an upstream peak below the stream count, means streams queued in piapi (e.g. behind its per-origin connection limit) instead of being forwarded at once',
      'RSS read from /proc/<pid>/status (VmRSS) every 100 ms; idle = after 50 warm-up streams and a 1 s pause',
    ],
    targets: [
      { name: `${streams} streams: piapi RSS peak`, measured: `${fmt(during.rssPeakMiB, 1)} MiB`, goal: '≤ 300 MB (286 MiB)', pass: during.rssPeakMiB <= RSS_GOAL_MIB },
      { name: `${streams} streams: none lost`, measured: `${lost} lost`, goal: '0 lost', pass: lost === 0 },
      {
        name: `${streams} streams: open upstream at once`,
        measured: fmt(upstreamStats.peakOpen),
        goal: `${fmt(streams)} (none queued)`,
        pass: upstreamStats.peakOpen >= streams,
      },
    ],
  };
}
