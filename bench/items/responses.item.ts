import type { BenchContext } from '../bench-context.js';
import { CODEX_BENCH_MODEL, codexBody, codexHeaders } from '../fixtures/codex-requests.js';
import { RESPONSES_USER_KEY, gatewayConfigYaml } from '../gateway-configs.js';
import { cpuPerRequestUs, rpsRange, runLoads, type LoadResult } from '../load/autocannon-load.js';
import { runProbe } from '../load/sequential-probe.js';
import type { BenchProcess } from '../processes/bench-process.js';
import { fmt, ratio, type ItemReport } from '../report/bench-report.js';
import { TEXT_DELTAS } from '../servers/codex-turn.js';

/**
 * Item 6 (beside item 3): Codex's `POST /v1/responses` (streaming, the recorded Codex 0.169
 * request) → fake Anthropic Messages upstream streaming 20 text deltas, through piapi in one
 * process and with `--workers 2`; logging (info) and metrics on, as always.
 */
export async function responsesItem(ctx: BenchContext): Promise<ItemReport> {
  const upstream = await ctx.server('anthropic upstream', 'anthropic-upstream.server.ts');
  const yaml = gatewayConfigYaml({ users: 10, anthropic: { url: upstream.url, codexModel: CODEX_BENCH_MODEL } });
  const piapi = await ctx.piapi('responses', yaml, 1);
  const piapi2 = await ctx.piapi('responses-2-workers', yaml, 2);
  const columns: [string, BenchProcess][] = [
    ['piapi', piapi],
    [WORKERS_COLUMN, piapi2],
  ];
  const headers = codexHeaders(RESPONSES_USER_KEY);
  const body = codexBody();
  for (const [name, server] of columns) {
    const sanity = await runProbe({ url: server.url, path: '/v1/responses', headers, body, count: 1, warmup: 0 });
    const deltas = sanity.firstBody.split('event: response.output_text.delta').length - 1;
    if (sanity.firstStatus !== 200 || !sanity.firstBody.includes('event: response.completed') || deltas !== TEXT_DELTAS) {
      throw new Error(`${name}: broken answer: HTTP ${sanity.firstStatus}, ${deltas} text deltas: ${sanity.firstBody.slice(0, 300).replace(/\s+/g, ' ')}`);
    }
  }
  ctx.progress(`/v1/responses: ${columns.map(([name]) => name).join(' / ')}`);
  const loads = await runLoads(
    columns.map(([, server]) => ({ url: `${server.url}/v1/responses`, headers, body, connections: ctx.options.connections, watch: [upstream, server] })),
    ctx.plan,
  );
  const [one, two] = loads as [LoadResult, LoadResult];
  const stats = await upstream.stats<{ served: number; bodyBytes: number; rendered: number }>();
  return {
    title: `Item 6 — \`/v1/responses\` streaming (Codex request → Anthropic Messages upstream, ${TEXT_DELTAS} text deltas)`,
    tables: [
      {
        headers: ['column', 'req/s', 'req/s range (rounds)', 'p50 ms', 'p99 ms', 'router CPU µs/req', 'upstream CPU µs/req', 'upstream request KiB', 'router RSS peak MiB', 'non-2xx / errors'],
        rows: columns.map(([name, server], i) => [
          name,
          fmt(loads[i].rps),
          rpsRange(loads[i]),
          fmt(loads[i].p50Ms),
          fmt(loads[i].p99Ms),
          fmt(cpuPerRequestUs(loads[i], server)),
          fmt(cpuPerRequestUs(loads[i], upstream)),
          fmt(stats.bodyBytes / 1024 / Math.max(1, stats.served)),
          fmt(loads[i].procs.get(server.name)?.rssPeakMiB ?? Number.NaN),
          `${loads[i].non2xx} / ${loads[i].errors}`,
        ]),
      },
    ],
    notes: [
      `request: the recorded Codex 0.169 request (test/fixtures/codex/text-1.json, ${kib(body)} KiB: instructions, developer messages, function, namespace and web_search tools, reasoning summary auto), model ${CODEX_BENCH_MODEL} mapped to claude-sonnet-4-5 with effort → thinking; ${ctx.options.connections} connections`,
      `upstream: bench/servers/anthropic-upstream.server.ts — the test suite's Anthropic events, ${TEXT_DELTAS} text deltas per answer, one socket write per event; it rendered ${stats.rendered} distinct request bodies for ${stats.served} requests`,
      `--workers 2: ${ratio(two.rps, one.rps)} the req/s of one process`,
      'router CPU = the piapi process\'s CPU time (utime+stime from /proc; with workers, the primary and its workers) during the measured run ÷ 2xx responses',
    ],
    targets: [
      { name: `/v1/responses req/s at ${ctx.options.connections} connections, one process`, measured: fmt(one.rps), goal: '≥ 800', pass: one.rps >= 800 },
      { name: `/v1/responses p99 at ${ctx.options.connections} connections, one process`, measured: `${fmt(one.p99Ms)} ms`, goal: '≤ 100 ms', pass: one.p99Ms <= 100 },
    ],
  };
}

const WORKERS_COLUMN = 'piapi --workers 2';

function kib(text: string): string {
  return (Buffer.byteLength(text) / 1024).toFixed(0);
}
