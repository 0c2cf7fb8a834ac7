import type { BenchContext } from '../bench-context.js';
import { PASSTHROUGH_USER_KEY, gatewayConfigYaml } from '../gateway-configs.js';
import { cpuPerRequestUs, rpsRange, runLoads, writesPerRequest, type LoadResult } from '../load/autocannon-load.js';
import { probeSummary, runProbe, runProbes, type ProbeResult } from '../load/sequential-probe.js';
import type { BenchProcess } from '../processes/bench-process.js';
import { fmt, ratio, signed, signedMs, type ItemReport } from '../report/bench-report.js';
import { JSON_RESPONSE_BYTES, PASSTHROUGH_REQUEST_BODY, SSE_EVENTS } from '../servers/passthrough-payloads.js';

/** Items 1 and 2: the same request straight to the upstream, through a bare proxy, through piapi. */

interface Column {
  /** `piapi (against)`: the piapi of the `--against` checkout. */
  name: 'direct' | 'bare proxy' | 'piapi' | typeof LIMITS_COLUMN | typeof POOL_COLUMN | typeof FAILOVER_COLUMN | 'piapi (against)';
  /** The process the client talks to. */
  server: BenchProcess;
  pathPrefix: string;
}

interface Cell {
  column: Column;
  load: LoadResult;
  probe: ProbeResult;
}

/** piapi with every limit set for every user, counted in a real Redis. */
const LIMITS_COLUMN = 'piapi (limits + Redis)';
/** piapi with every user bound to a pool of 3 keys (round-robin, none failing). */
const POOL_COLUMN = 'piapi (pool of 3)';
/** piapi with a pool whose first key always answers 429 (retry-after 0): every request fails over once. */
const FAILOVER_COLUMN = 'piapi (pool, failover)';

const HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${PASSTHROUGH_USER_KEY}` };

export async function passthroughJsonItem(ctx: BenchContext): Promise<ItemReport> {
  const { upstream, cells, redisCommandsPerRequest } = await measureColumns(
    ctx,
    '/v1/json',
    (probe) => (probe.firstBody.length === JSON_RESPONSE_BYTES ? undefined : `expected ${JSON_RESPONSE_BYTES} bytes of JSON`),
    true,
  );
  const [direct, bare, piapi] = cells;
  const limited = cells.find((c) => c.column.name === LIMITS_COLUMN)!;
  const pool = cells.find((c) => c.column.name === POOL_COLUMN)!;
  const failover = cells.find((c) => c.column.name === FAILOVER_COLUMN)!;
  const against = cells.find((c) => c.column.name === 'piapi (against)');
  const added = (cell: Cell) => probeSummary(cell.probe.totalMs).medianMs - probeSummary(direct.probe.totalMs).medianMs;
  const p99 = (cell: Cell) => probeSummary(cell.probe.totalMs).p99Ms;
  return {
    title: 'Item 1 — pass-through, non-streaming (POST small JSON → 1 KB JSON)',
    tables: [
      {
        headers: ['column', 'req/s', 'req/s range (rounds)', 'p50 ms', 'p99 ms', 'unloaded median ms', 'unloaded p99 ms', 'proxy CPU µs/req', 'proxy writes/req', 'upstream CPU µs/req', 'proxy RSS MiB', 'non-2xx / errors'],
        rows: cells.map((cell) => {
          const unloaded = probeSummary(cell.probe.totalMs);
          return [
            cell.column.name,
            fmt(cell.load.rps),
            rpsRange(cell.load),
            fmt(cell.load.p50Ms),
            fmt(cell.load.p99Ms),
            fmt(unloaded.medianMs, 3),
            fmt(unloaded.p99Ms, 3),
            cell.column.name === 'direct' ? '-' : fmt(cpuPerRequestUs(cell.load, cell.column.server)),
            cell.column.name === 'direct' ? '-' : fmt(writesPerRequest(cell.load, cell.column.server), 1),
            fmt(cpuPerRequestUs(cell.load, upstream)),
            cell.column.name === 'direct' ? '-' : fmt(cell.load.procs.get(cell.column.server.name)?.rssPeakMiB ?? Number.NaN),
            `${cell.load.non2xx} / ${cell.load.errors}`,
          ];
        }),
      },
    ],
    notes: [
      `piapi throughput: ${ratio(piapi.load.rps, bare.load.rps)} the bare proxy, ${ratio(piapi.load.rps, direct.load.rps)} direct (bare proxy: ${ratio(bare.load.rps, direct.load.rps)} direct)`,
      `added median latency vs direct, unloaded (${ctx.options.probeCount} sequential requests, hrtime): piapi ${signedMs(added(piapi), 3)}, bare proxy ${signedMs(added(bare), 3)}`,
      `added p50 under load (${ctx.options.connections} connections; autocannon resolves 1 ms): piapi ${signedMs(piapi.load.p50Ms - direct.load.p50Ms, 0)}, bare proxy ${signedMs(bare.load.p50Ms - direct.load.p50Ms, 0)}`,
      `piapi CPU per request: ${ratio(cpuPerRequestUs(piapi.load, piapi.column.server), cpuPerRequestUs(bare.load, bare.column.server))} the bare proxy's, so a CPU-bound piapi would reach ${ratio(cpuPerRequestUs(bare.load, bare.column.server), cpuPerRequestUs(piapi.load, piapi.column.server))} the bare proxy's throughput (a ratio that holds better than req/s on a busy machine)`,
      `piapi wrote ${fmt((await ctx.logBytes('passthrough')) / 1024)} KiB of JSON log lines so far (level info, one line per request)`,
      `${LIMITS_COLUMN}: every user has requestsPerMinute, concurrentRequests, tokensPerMinute and tokensPerDay set (none reached) and state.redis on a local redis-server 7.0 (Debian, persistence off); ${ratio(limited.load.rps, bare.load.rps)} the bare proxy, ${ratio(limited.load.rps, piapi.load.rps)} piapi without limits; added median latency vs direct ${signedMs(added(limited), 3)} (${signedMs(added(limited) - added(piapi), 3)} vs piapi without limits); CPU per request ${fmt(cpuPerRequestUs(limited.load, limited.column.server))} µs vs ${fmt(cpuPerRequestUs(piapi.load, piapi.column.server))} µs without limits`,
      `${LIMITS_COLUMN}: Redis processed ${fmt(redisCommandsPerRequest, 1)} commands per request (INFO total_commands_processed, the commands inside piapi's scripts included, over ${ctx.options.probeCount} sequential requests, each its own batch; under load one script call checks every admission of an event-loop turn, see RESULTS.md)`,
      `${POOL_COLUMN}: every user bound to a pool of 3 keys (round-robin, no failures, cooldowns in process memory); ${ratio(pool.load.rps, bare.load.rps)} the bare proxy, ${ratio(pool.load.rps, piapi.load.rps)} piapi with one key; added median latency vs direct ${signedMs(added(pool), 3)} (${signedMs(added(pool) - added(piapi), 3)} vs one key); CPU per request ${fmt(cpuPerRequestUs(pool.load, pool.column.server))} µs vs ${fmt(cpuPerRequestUs(piapi.load, piapi.column.server))} µs with one key`,
      `${FAILOVER_COLUMN}: the pool's first key always answers 429 with retry-after 0, so every request is sent twice (the 429 read and dropped, the body replayed to the second key): a failover adds ${signedMs(added(failover) - added(pool), 3)} to the unloaded median (${signedMs(p99(failover) - p99(pool), 3)} to its p99) over the pool without failures; under load ${ratio(failover.load.rps, pool.load.rps)} its throughput, CPU per client request ${fmt(cpuPerRequestUs(failover.load, failover.column.server))} µs`,
      ...againstNotes(piapi, against),
    ],
    targets: [
      {
        name: 'pass-through throughput vs bare proxy, pool of 3 keys',
        measured: ratio(pool.load.rps, bare.load.rps),
        goal: '≥ 0.80×',
        pass: pool.load.rps >= 0.8 * bare.load.rps,
      },
      {
        name: 'pass-through throughput vs bare proxy',
        measured: ratio(piapi.load.rps, bare.load.rps),
        goal: '≥ 0.80×',
        pass: piapi.load.rps >= 0.8 * bare.load.rps,
      },
      {
        name: 'pass-through median added latency vs direct (unloaded)',
        measured: signedMs(added(piapi), 3),
        goal: '≤ 1 ms',
        pass: added(piapi) <= 1,
      },
      {
        name: 'pass-through throughput vs bare proxy, limits + Redis on',
        measured: ratio(limited.load.rps, bare.load.rps),
        goal: '≥ 0.75×',
        pass: limited.load.rps >= 0.75 * bare.load.rps,
      },
      {
        name: 'pass-through median added latency vs direct (unloaded), limits + Redis on',
        measured: signedMs(added(limited), 3),
        goal: '≤ 1 ms',
        pass: added(limited) <= 1,
      },
    ],
  };
}

export async function passthroughSseItem(ctx: BenchContext): Promise<ItemReport> {
  const { upstream, cells } = await measureColumns(ctx, '/v1/sse', (probe) => {
    const events = probe.firstBody.split('\n\n').length - 1;
    return events === SSE_EVENTS && probe.firstBody.includes('response.completed') ? undefined : `expected ${SSE_EVENTS} SSE events, got ${events}`;
  });
  const [direct, bare, piapi] = cells;
  const against = cells.find((c) => c.column.name === 'piapi (against)');
  const ttfb = (cell: Cell) => probeSummary(cell.probe.ttfbMs);
  const addedTtfb = (cell: Cell) => ttfb(cell).medianMs - ttfb(direct).medianMs;
  return {
    title: `Item 2 — pass-through SSE (${SSE_EVENTS} events per response, one event per write)`,
    tables: [
      {
        headers: ['column', 'req/s', 'req/s range (rounds)', 'p50 ms', 'p99 ms', 'TTFB median ms', 'TTFB p99 ms', 'unloaded stream median ms', 'proxy CPU µs/req', 'proxy writes/req', 'upstream CPU µs/req', 'proxy RSS MiB', 'non-2xx / errors'],
        rows: cells.map((cell) => [
          cell.column.name,
          fmt(cell.load.rps),
          rpsRange(cell.load),
          fmt(cell.load.p50Ms),
          fmt(cell.load.p99Ms),
          fmt(ttfb(cell).medianMs, 3),
          fmt(ttfb(cell).p99Ms, 3),
          fmt(probeSummary(cell.probe.totalMs).medianMs, 3),
          cell.column.name === 'direct' ? '-' : fmt(cpuPerRequestUs(cell.load, cell.column.server)),
          cell.column.name === 'direct' ? '-' : fmt(writesPerRequest(cell.load, cell.column.server), 1),
          fmt(cpuPerRequestUs(cell.load, upstream)),
          cell.column.name === 'direct' ? '-' : fmt(cell.load.procs.get(cell.column.server.name)?.rssPeakMiB ?? Number.NaN),
          `${cell.load.non2xx} / ${cell.load.errors}`,
        ]),
      },
    ],
    notes: [
      `piapi throughput: ${ratio(piapi.load.rps, bare.load.rps)} the bare proxy, ${ratio(piapi.load.rps, direct.load.rps)} direct`,
      `first byte added vs direct (median of ${ctx.options.probeCount} sequential streams): piapi ${signedMs(addedTtfb(piapi), 3)}, bare proxy ${signedMs(addedTtfb(bare), 3)}`,
      `piapi CPU per stream: ${ratio(cpuPerRequestUs(piapi.load, piapi.column.server), cpuPerRequestUs(bare.load, bare.column.server))} the bare proxy's (CPU-bound throughput ratio ${ratio(cpuPerRequestUs(bare.load, bare.column.server), cpuPerRequestUs(piapi.load, piapi.column.server))})`,
      ...againstNotes(piapi, against),
    ],
    targets: [
      {
        name: 'SSE throughput vs bare proxy',
        measured: ratio(piapi.load.rps, bare.load.rps),
        goal: '≥ 0.80×',
        pass: piapi.load.rps >= 0.8 * bare.load.rps,
      },
      { name: 'SSE first byte added vs direct', measured: signedMs(addedTtfb(piapi), 3), goal: '≤ 2 ms', pass: addedTtfb(piapi) <= 2 },
    ],
  };
}

/** With `--against`: this piapi beside the other checkout's, measured in the same rounds. */
function againstNotes(piapi: Cell, against: Cell | undefined): string[] {
  if (!against) return [];
  const cpu = (cell: Cell) => cpuPerRequestUs(cell.load, cell.column.server);
  return [
    `piapi vs piapi (against): ${ratio(piapi.load.rps, against.load.rps)} the throughput; CPU per request ${fmt(cpu(piapi), 1)} vs ${fmt(cpu(against), 1)} µs (${signed(cpu(piapi) - cpu(against), 'µs', 1)})`,
  ];
}

async function measureColumns(
  ctx: BenchContext,
  path: string,
  check: (probe: ProbeResult) => string | undefined,
  withLimits = false,
): Promise<{ upstream: BenchProcess; cells: [Cell, Cell, Cell, ...Cell[]]; redisCommandsPerRequest: number }> {
  const upstream = await ctx.passthroughUpstream();
  const bare = await ctx.shared('bare', () => ctx.server('bare proxy', 'bare-proxy.server.ts', { BENCH_UPSTREAM_URL: upstream.url }, 'bare-proxy'));
  const piapi = await ctx.shared('piapi-passthrough', () =>
    ctx.piapi('passthrough', gatewayConfigYaml({ users: 10, upstreamUrl: upstream.url })),
  );
  const columns: Column[] = [
    { name: 'direct', server: upstream, pathPrefix: '' },
    { name: 'bare proxy', server: bare, pathPrefix: '' },
    { name: 'piapi', server: piapi, pathPrefix: '/piapi/cx' },
  ];
  if (withLimits) {
    const redisUrl = (await ctx.redis()).url;
    const limited = await ctx.shared('piapi-limits', () => ctx.piapi('passthrough-limits', gatewayConfigYaml({ users: 10, upstreamUrl: upstream.url, limitsRedisUrl: redisUrl })));
    columns.push({ name: LIMITS_COLUMN, server: limited, pathPrefix: '/piapi/cx' });
    const pooled = await ctx.shared('piapi-pool', () => ctx.piapi('passthrough-pool', gatewayConfigYaml({ users: 10, upstreamUrl: upstream.url, pool: 'three' })));
    columns.push({ name: POOL_COLUMN, server: pooled, pathPrefix: '/piapi/cx' });
    const failing = await ctx.shared('piapi-failover', () => ctx.piapi('passthrough-failover', gatewayConfigYaml({ users: 10, upstreamUrl: upstream.url, pool: 'failover' })));
    columns.push({ name: FAILOVER_COLUMN, server: failing, pathPrefix: '/piapi/cx' });
  }
  if (ctx.options.against) {
    const against = await ctx.shared('piapi-against', () =>
      ctx.piapi('against', gatewayConfigYaml({ users: 10, upstreamUrl: upstream.url }), 1, ctx.options.against),
    );
    columns.push({ name: 'piapi (against)', server: against, pathPrefix: '/piapi/cx' });
  }
  const request = (column: Column) => ({
    url: column.server.url,
    path: column.pathPrefix + path,
    headers: HEADERS,
    body: PASSTHROUGH_REQUEST_BODY,
  });
  for (const column of columns) {
    const sanity = await runProbe({ ...request(column), count: 1, warmup: 0 });
    const problem = sanity.firstStatus === 200 ? check(sanity) : `HTTP ${sanity.firstStatus}`;
    if (problem) throw new Error(`${column.name} ${request(column).path}: ${problem}: ${sanity.firstBody.slice(0, 300)}`);
  }
  ctx.progress(`${path}: load, ${columns.map((c) => c.name).join(' / ')} taking turns`);
  const loads = await runLoads(
    columns.map((column) => ({
      url: column.server.url + request(column).path,
      headers: HEADERS,
      body: PASSTHROUGH_REQUEST_BODY,
      connections: ctx.options.connections,
      watch: column.name === 'direct' ? [upstream] : [upstream, column.server],
    })),
    ctx.plan,
  );
  ctx.progress(`${path}: ${ctx.options.probeCount} sequential requests per column`);
  const probes = await runProbes(
    columns.map((column) => ({ ...request(column), count: ctx.options.probeCount, warmup: Math.min(100, ctx.options.probeCount) })),
    ctx.options.rounds,
  );
  const cells = columns.map((column, i) => ({ column, load: loads[i], probe: probes[i] }));
  let redisCommandsPerRequest = Number.NaN;
  const limited = columns.find((c) => c.name === LIMITS_COLUMN);
  if (limited) {
    const before = await ctx.redisCommands();
    await runProbe({ ...request(limited), count: ctx.options.probeCount, warmup: 0 });
    // Token counts are written after the answer: let the last ones land.
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Minus the INFO call itself.
    redisCommandsPerRequest = ((await ctx.redisCommands()) - before - 1) / ctx.options.probeCount;
  }
  return { upstream, cells: cells as [Cell, Cell, Cell, ...Cell[]], redisCommandsPerRequest };
}
