import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { BenchContext, type ProfiledProcess } from './bench-context.js';
import { USAGE, parseBenchOptions, type BenchOptions, type ItemId } from './bench-options.js';
import { summarizeProfileFile } from './cpu-profile/cpu-profile-summary.js';
import { configScaleItem } from './items/config-scale.item.js';
import { memoryItem } from './items/memory.item.js';
import { messagesItem } from './items/messages.item.js';
import { passthroughJsonItem, passthroughSseItem } from './items/passthrough.item.js';
import { responsesItem } from './items/responses.item.js';
import { renderItem, renderTargets, type ItemReport } from './report/bench-report.js';

/** `npm run bench`: starts its own upstreams and gateways on 127.0.0.1 and prints one report. */

const RUNNERS: Record<ItemId, (ctx: BenchContext) => Promise<ItemReport>> = {
  json: passthroughJsonItem,
  sse: passthroughSseItem,
  messages: messagesItem,
  responses: responsesItem,
  memory: memoryItem,
  config: configScaleItem,
};

async function main(): Promise<number> {
  const parsed = parseBenchOptions(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const options = parsed;
  const ctx = await BenchContext.create(options);
  const stopOnSignal = (): void => {
    void ctx.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);

  process.stdout.write(`${header(options)}\n`);
  const reports: ItemReport[] = [];
  let failed = 0;
  try {
    for (const [item, run] of Object.entries(RUNNERS) as [ItemId, (ctx: BenchContext) => Promise<ItemReport>][]) {
      if (!options.items.has(item)) continue;
      ctx.progress(`item ${item}`);
      let report: ItemReport;
      const loadBefore = loadavg()[0];
      try {
        report = await run(ctx);
        report.notes.push(`machine load average (1 min) ${loadBefore.toFixed(1)} before the item, ${loadavg()[0].toFixed(1)} after: above ~2 the servers share these ${cpus().length} CPUs with other work`);
      } catch (err) {
        failed++;
        report = { title: `Item ${item} — FAILED`, tables: [], notes: [String(err instanceof Error ? (err.stack ?? err.message) : err)], targets: [] };
      }
      reports.push(report);
      process.stdout.write(`${renderItem(report)}\n`);
    }
  } finally {
    await ctx.close();
  }

  const targets = reports.flatMap((r) => r.targets);
  if (targets.length > 0) process.stdout.write(`## Targets (informational)\n\n${renderTargets(targets)}\n\n`);
  if (options.profile) process.stdout.write(await profileSection(ctx.profiled));
  if (options.jsonOut) await writeFile(options.jsonOut, JSON.stringify({ options: { ...options, items: [...options.items] }, reports }, null, 2));
  return failed > 0 ? 1 : 0;
}

function header(options: BenchOptions): string {
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? '?';
  const commit = tryRun('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = tryRun('git', ['status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : '';
  return [
    '# piapi benchmark',
    '',
    `- machine: ${cpus().length} CPUs, ${cpuModel}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM; load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `- node ${process.version}; piapi ${commit}${dirty}`,
    `- ${options.durationS} s measured after ${options.warmupS} s warm-up per cell, ${options.connections} connections, ${options.probeCount} sequential probe requests per column${options.quick ? ' (--quick: figures are indicative only)' : ''}`,
    '- every server (fake upstream, bare proxy, naive router, piapi) runs in its own process; autocannon runs in the bench process; all on this machine, so compare ratios, not absolute numbers',
    options.profile
      ? '- --profile: piapi and the baselines (bare proxy, naive router) run under --cpu-prof, which slows them; do not compare these figures with unprofiled runs'
      : '',
    '',
  ]
    .filter((line, i, all) => line !== '' || all[i - 1] !== '')
    .join('\n');
}

async function profileSection(profiled: readonly ProfiledProcess[]): Promise<string> {
  const out = ['## CPU profiles (top 20 self-time functions)', ''];
  for (const { label, startupMs, file } of profiled) {
    try {
      const path = await file();
      out.push(`### ${label} — ${path}`, '', await summarizeProfileFile(path, 20, startupMs), '');
    } catch (err) {
      out.push(`### ${label}: no profile (${String(err)})`, '');
    }
  }
  return `${out.join('\n')}\n`;
}

function tryRun(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

process.exitCode = await main();
