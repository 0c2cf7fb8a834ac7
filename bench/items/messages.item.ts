import { fakeCodexJwt } from '../../test/fakes/fake-jwt.js';
import type { BenchContext } from '../bench-context.js';
import { claudeCodeBody, claudeCodeHeaders, longHistoryBody } from '../fixtures/claude-code-requests.js';
import { MESSAGES_USER_KEY, gatewayConfigYaml } from '../gateway-configs.js';
import { rpsRange, runLoads, type LoadResult } from '../load/autocannon-load.js';
import { runProbe } from '../load/sequential-probe.js';
import type { BenchProcess } from '../processes/bench-process.js';
import { fmt, ratio, type ItemReport, type Table } from '../report/bench-report.js';
import { TEXT_DELTAS } from '../servers/codex-turn.js';

/**
 * Item 3: Claude Code's `POST /v1/messages` (streaming) → fake Codex Responses upstream streaming
 * 20 text deltas, through piapi and through the naive pi-ai router baseline.
 */
export async function messagesItem(ctx: BenchContext): Promise<ItemReport> {
  const jwt = fakeCodexJwt({ accountId: 'acc', expiresInSeconds: 10 * 365 * 24 * 3600 });
  const codex = await ctx.server('codex upstream', 'codex-upstream.server.ts');
  const naive = await ctx.server('naive router', 'naive-messages-router.server.ts', { BENCH_CODEX_URL: codex.url, BENCH_CODEX_JWT: jwt }, 'naive-router');
  const yaml = gatewayConfigYaml({ users: 10, codex: { url: codex.url, jwt } });
  const limitsYaml = gatewayConfigYaml({ users: 10, codex: { url: codex.url, jwt }, limitsRedisUrl: (await ctx.redis()).url });
  const start = async (label: string, workers: number, config = yaml): Promise<BenchProcess | string> => {
    try {
      return await ctx.piapi(label, config, workers);
    } catch (err) {
      return `piapi did not start: ${String(err).split('\n').slice(0, 3).join(' ')}`;
    }
  };
  const piapi = await start('messages', 1);
  // Node runs JavaScript on one core: `--workers 2` is how piapi uses both of this machine's.
  const piapi2 = await start('messages-2-workers', 2);
  const limited = await start('messages-limits', 1, limitsYaml);
  const columns = [
    ['piapi', piapi],
    [WORKERS_COLUMN, piapi2],
    [LIMITS_COLUMN, limited],
    ['naive pi-ai router', naive],
  ] as const;

  const long = longHistoryBody(ctx.options.longHistoryMB * 1e6);
  const allBodies = [
    { name: `Claude Code text-1 (${kib(claudeCodeBody())} KiB, 12 tools)`, body: claudeCodeBody(), plan: ctx.plan },
    // At 32 connections one of these takes seconds: a timed run could end before any completed (and
    // a warm-up's abandoned requests would still be burning CPU), so a fixed number of requests runs
    // to completion instead. The text-1 cells have warmed the same code paths.
    {
      name: `long history (${(Buffer.byteLength(long) / 1e6).toFixed(1)} MB)`,
      body: long,
      plan: { ...ctx.plan, warmupS: 0, rounds: 1, requests: 2 * ctx.options.connections, timeoutS: 300 },
    },
  ];
  // `--long-history 0` leaves the long body out (e.g. to profile the text-1 workload alone).
  const bodies = ctx.options.longHistoryMB > 0 ? allBodies : allBodies.slice(0, 1);
  const headers = claudeCodeHeaders(MESSAGES_USER_KEY);
  const rows: string[][] = [];
  const notes: string[] = [];
  const results = new Map<string, LoadResult | string>();
  /** Mean size of the request the router sent upstream, per cell. */
  const upstreamKiB = new Map<string, number>();

  for (const { name, body, plan } of bodies) {
    const measured: { key: string; server: BenchProcess }[] = [];
    for (const [column, server] of columns) {
      const key = `${name}|${column}`;
      if (typeof server === 'string') {
        results.set(key, server);
        continue;
      }
      // Requests of the previous load run may still reach the upstream: wait until it is quiet.
      const before = await quietStats(codex);
      const sanity = await runProbe({ url: server.url, path: '/v1/messages?beta=true', headers, body, count: 1, warmup: 0 });
      const after = await codex.stats<CodexStats>();
      if (sanity.firstStatus === 404) {
        results.set(key, `not available (POST /v1/messages → 404)`);
        continue;
      }
      const deltas = sanity.firstBody.split('"text_delta"').length - 1;
      if (sanity.firstStatus !== 200 || !sanity.firstBody.includes('message_stop') || deltas !== TEXT_DELTAS) {
        results.set(key, `broken answer: HTTP ${sanity.firstStatus}, ${deltas} text deltas: ${sanity.firstBody.slice(0, 200).replace(/\s+/g, ' ')}`);
        continue;
      }
      upstreamKiB.set(key, (after.bodyBytes - before.bodyBytes) / 1024 / Math.max(1, after.served - before.served));
      measured.push({ key, server });
    }
    ctx.progress(`/v1/messages ${name}: ${measured.map((m) => m.key.split('|')[1]).join(' / ')}`);
    const loads = await runLoads(
      measured.map(({ server }) => ({
        url: `${server.url}/v1/messages?beta=true`,
        headers,
        body,
        connections: ctx.options.connections,
        watch: [codex, server],
      })),
      plan,
    );
    measured.forEach(({ key }, i) => results.set(key, loads[i]));
    const [withPiapi, withNaive] = [results.get(`${name}|piapi`), results.get(`${name}|naive pi-ai router`)];
    for (const [column, server] of columns) {
      const result = results.get(`${name}|${column}`);
      if (typeof result !== 'object' || typeof server === 'string') {
        rows.push([name, column, typeof result === 'string' ? result : 'not measured', '', '', '', '', '', '', '', '']);
        continue;
      }
      rows.push([
        name,
        column,
        fmt(result.rps, result.rps < 10 ? 1 : 0),
        rpsRange(result),
        fmt(result.p50Ms),
        fmt(result.p99Ms),
        fmt(cpuMsPerRequest(result, server), 2),
        fmt(cpuMsPerRequest(result, codex), 2),
        fmt(upstreamKiB.get(`${name}|${column}`) ?? Number.NaN),
        fmt(result.procs.get(server.name)?.rssPeakMiB ?? Number.NaN),
        `${result.non2xx} / ${result.errors}`,
      ]);
    }
    if (typeof withPiapi === 'object' && typeof withNaive === 'object' && typeof piapi === 'object') {
      notes.push(
        `${name}: piapi ${ratio(withPiapi.rps, withNaive.rps)} the naive router's req/s, ${ratio(cpuMsPerRequest(withPiapi, piapi), cpuMsPerRequest(withNaive, naive))} its CPU per request`,
      );
    }
  }

  const table: Table = {
    headers: ['body', 'column', 'req/s', 'req/s range (rounds)', 'p50 ms', 'p99 ms', 'router CPU ms/req', 'upstream CPU ms/req', 'upstream request KiB (1st)', 'router RSS peak MiB', 'non-2xx / errors'],
    rows,
  };
  const main = results.get(`${bodies[0].name}|piapi`);
  const measured = typeof main === 'object';
  const main2 = results.get(`${bodies[0].name}|${WORKERS_COLUMN}`);
  const measured2 = typeof main2 === 'object';
  const mainLimited = results.get(`${bodies[0].name}|${LIMITS_COLUMN}`);
  const measuredLimited = typeof mainLimited === 'object';
  const upstream = await codex.stats<CodexStats>();
  notes.push(
    `upstream: bench/servers/codex-upstream.server.ts — the test suite's Responses events (codex checks: JWT, account id, store/stream/instructions; instructions and tools echoed in response.created/in_progress/completed), ${TEXT_DELTAS} text deltas per answer, one socket write per event; it rendered ${upstream.rendered} distinct request bodies for ${upstream.served} requests (a repeated body gets the events rendered for it); ${ctx.options.connections} connections`,
    'router CPU = the router process\'s CPU time (utime+stime from /proc; with workers, the primary and its workers) during the measured run ÷ 2xx responses',
    `${LIMITS_COLUMN}: one process, every limit set for the user (none reached), counted in a local redis-server 7.0${measured && measuredLimited ? `: ${ratio(mainLimited.rps, main.rps)} the req/s of piapi without limits (text-1)` : ''}`,
    `long history: ${2 * ctx.options.connections} requests at ${ctx.options.connections} connections, run to completion (no warm-up, one round), instead of a timed run`,
  );
  return {
    title: 'Item 3 — `/v1/messages` streaming (Claude Code request → Codex Responses upstream)',
    tables: [table],
    notes,
    targets: [
      {
        name: `/v1/messages req/s at ${ctx.options.connections} connections (text-1)`,
        measured: measured ? fmt(main.rps) : 'n/a',
        goal: '≥ 1 000',
        pass: measured ? main.rps >= 1000 : undefined,
      },
      {
        name: `/v1/messages p99 at ${ctx.options.connections} connections (text-1)`,
        measured: measured ? `${fmt(main.p99Ms)} ms` : 'n/a',
        goal: '≤ 100 ms',
        pass: measured ? main.p99Ms <= 100 : undefined,
      },
      {
        name: `/v1/messages req/s at ${ctx.options.connections} connections (text-1), limits + Redis on`,
        measured: measuredLimited ? fmt(mainLimited.rps) : 'n/a',
        goal: '≥ 1 000',
        pass: measuredLimited ? mainLimited.rps >= 1000 : undefined,
      },
      {
        name: `/v1/messages req/s at ${ctx.options.connections} connections (text-1), --workers 2`,
        measured: measured2 ? fmt(main2.rps) : 'n/a',
        goal: '≥ 1 000',
        pass: measured2 ? main2.rps >= 1000 : undefined,
      },
      {
        name: `/v1/messages p99 at ${ctx.options.connections} connections (text-1), --workers 2`,
        measured: measured2 ? `${fmt(main2.p99Ms)} ms` : 'n/a',
        goal: '≤ 100 ms',
        pass: measured2 ? main2.p99Ms <= 100 : undefined,
      },
    ],
  };
}

const WORKERS_COLUMN = 'piapi --workers 2';
/** piapi with every limit set for the user, counted in a real Redis. */
const LIMITS_COLUMN = 'piapi (limits + Redis)';

interface CodexStats {
  served: number;
  bodyBytes: number;
  rendered: number;
}

async function quietStats(codex: BenchProcess): Promise<CodexStats> {
  let last = await codex.stats<CodexStats>();
  for (let i = 0; i < 40; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = await codex.stats<CodexStats>();
    if (now.served === last.served) return now;
    last = now;
  }
  return last;
}

function cpuMsPerRequest(result: LoadResult, proc: BenchProcess): number {
  const delta = result.procs.get(proc.name);
  return delta && result.ok > 0 ? delta.cpuMs / result.ok : Number.NaN;
}

function kib(text: string): string {
  return (Buffer.byteLength(text) / 1024).toFixed(0);
}
