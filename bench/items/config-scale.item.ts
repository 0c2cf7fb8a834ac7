import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchContext } from '../bench-context.js';
import { PASSTHROUGH_USER_KEY, gatewayConfigYaml } from '../gateway-configs.js';
import { cpuPerRequestUs, rpsRange, runLoads } from '../load/autocannon-load.js';
import { readProcSnapshot } from '../processes/proc-stats.js';
import { fmt, ratio, type ItemReport } from '../report/bench-report.js';
import { median } from '../report/stats.js';
import { PASSTHROUGH_REQUEST_BODY } from '../servers/passthrough-payloads.js';
import type { MicroResult } from './config-scale.micro.js';

const SMALL = 10;
const LARGE = 10_000;

/** Item 5: 10 000 users vs 10 — config parse time, auth lookup cost, pass-through throughput. */
export async function configScaleItem(ctx: BenchContext): Promise<ItemReport> {
  ctx.progress(`parseConfig and resolveCaller with ${SMALL} and ${LARGE} users`);
  const micro = await runMicro(ctx);
  const [small, large] = micro;

  const upstream = await ctx.passthroughUpstream();
  const gateways = [];
  for (const users of [SMALL, LARGE]) {
    ctx.progress(`piapi with ${users} users`);
    const piapi = await ctx.piapi(`users-${users}`, gatewayConfigYaml({ users, upstreamUrl: upstream.url }));
    gateways.push({ users, piapi, idleRssMiB: readProcSnapshot(piapi.pid).rssMiB });
  }
  ctx.progress(`pass-through with ${SMALL} and ${LARGE} users taking turns`);
  const loads = await runLoads(
    gateways.map(({ piapi }) => ({
      url: `${piapi.url}/piapi/cx/v1/json`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${PASSTHROUGH_USER_KEY}` },
      body: PASSTHROUGH_REQUEST_BODY,
      connections: ctx.options.connections,
      watch: [upstream, piapi],
    })),
    ctx.plan,
  );
  const passthrough = gateways.map((g, i) => ({ ...g, startupMs: g.piapi.startupMs, load: loads[i], cpuUs: cpuPerRequestUs(loads[i], g.piapi) }));
  for (const { piapi } of gateways) await ctx.stop(piapi);
  const [fewUsers, manyUsers] = passthrough;

  return {
    title: `Item 5 — config scale: ${fmt(LARGE)} users vs ${SMALL}`,
    tables: [
      {
        caption: `In-process, on dist/ (a child process of its own): parseConfig = YAML parse + env interpolation + validation + snapshot, median of ${ctx.options.reloadRuns} runs; resolveCaller = median of 5 rounds of ${fmt(ctx.options.lookups)} lookups cycling over every user's key`,
        headers: ['users', 'config KiB', 'parseConfig median ms', 'parseConfig min ms', 'resolveCaller ns/lookup'],
        rows: micro.map((m) => [fmt(m.users), fmt(m.yamlBytes / 1024, 1), fmt(median(m.parseMs), 1), fmt(Math.min(...m.parseMs), 1), fmt(median(m.nsPerLookup))]),
      },
      {
        caption: 'Pass-through (item 1\'s JSON request) through a fresh piapi per config',
        headers: ['users', 'piapi startup ms', 'RSS idle MiB', 'req/s', 'req/s range (rounds)', 'p50 ms', 'p99 ms', 'piapi CPU µs/req', 'non-2xx / errors'],
        rows: passthrough.map((p) => [
          fmt(p.users),
          fmt(p.startupMs),
          fmt(p.idleRssMiB, 1),
          fmt(p.load.rps),
          rpsRange(p.load),
          fmt(p.load.p50Ms),
          fmt(p.load.p99Ms),
          fmt(p.cpuUs),
          `${p.load.non2xx} / ${p.load.errors}`,
        ]),
      },
    ],
    notes: [
      `auth lookup with ${fmt(LARGE)} users: ${ratio(median(large.nsPerLookup), median(small.nsPerLookup))} the cost with ${SMALL} (sha256 of the key + one Map probe + timingSafeEqual)`,
      `reload (parseConfig) with ${fmt(LARGE)} users: ${fmt(median(large.parseMs), 1)} ms, ${ratio(median(large.parseMs), median(small.parseMs), 0)} the ${SMALL}-user config`,
      `pass-through req/s with ${fmt(LARGE)} users: ${ratio(manyUsers.load.rps, fewUsers.load.rps)} the ${SMALL}-user figure`,
    ],
    targets: [],
  };
}

async function runMicro(ctx: BenchContext): Promise<MicroResult[]> {
  const script = fileURLToPath(new URL('./config-scale.micro.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', script, `${SMALL},${LARGE}`, String(ctx.options.reloadRuns), String(ctx.options.lookups)],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as MicroResult[];
}
