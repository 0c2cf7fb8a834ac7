import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { fmt, renderTable } from '../report/bench-report.js';
import { areaTimes, selfTimes, type CpuProfile, type SelfTime } from './cpu-profile-summary.js';

/**
 * Lays two profiles of the same load side by side in µs per request, by area and by function:
 *
 *   node --import tsx bench/cpu-profile/compare-profiles.ts \
 *     bench/profiles/bare-proxy/CPU.….cpuprofile:<skipMs>:<µs/req> bench/profiles/piapi-passthrough.cpuprofile:<skipMs>:<µs/req>
 *
 * skipMs = the start-up to leave out (the bench prints it above each profile), µs/req = the
 * process's CPU per request from the bench table (the profile's busy time is spread over it).
 */
interface Side {
  label: string;
  perRequest: Map<string, number>;
  functions: Map<string, number>;
}

async function load(arg: string): Promise<Side> {
  const [path, skipMs = '0', usPerRequest = '1'] = arg.split(':');
  const times = selfTimes(JSON.parse(await readFile(path, 'utf8')) as CpuProfile, Number(skipMs)).filter((t) => t.name !== '(idle)');
  const busy = times.reduce((s, t) => s + t.selfMs, 0);
  const scale = (ms: number) => (ms / busy) * Number(usPerRequest);
  return {
    // `CPU.<date>.<pid>….cpuprofile` (node's default name) says less than its directory.
    label: (/^CPU\./.test(basename(path)) ? basename(dirname(path)) : basename(path)).replace(/\.cpuprofile$/, ''),
    perRequest: new Map(areaTimes(times).map((a) => [a.area, scale(a.selfMs)])),
    functions: new Map(times.map((t: SelfTime) => [`${t.name} ${t.where}`.trim(), scale(t.selfMs)])),
  };
}

const [baseArg, otherArg] = process.argv.slice(2);
if (!baseArg || !otherArg) {
  process.stderr.write('usage: compare-profiles.ts <base.cpuprofile>:<skipMs>:<µs/req> <other.cpuprofile>:<skipMs>:<µs/req>\n');
  process.exit(2);
}
const [base, other] = await Promise.all([load(baseArg), load(otherArg)]);
const table = (title: string, a: Map<string, number>, b: Map<string, number>, rows: number) => {
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => (b.get(y) ?? 0) - (b.get(x) ?? 0));
  return `${title}\n\n${renderTable({
    headers: ['', `${base.label} µs/req`, `${other.label} µs/req`, 'difference'],
    rows: keys.slice(0, rows).map((k) => [k, fmt(a.get(k) ?? 0, 1), fmt(b.get(k) ?? 0, 1), fmt((b.get(k) ?? 0) - (a.get(k) ?? 0), 1)]),
  })}\n`;
};
process.stdout.write(`${table('By area:', base.perRequest, other.perRequest, 20)}\n${table('By function (top 30 of the second profile):', base.functions, other.functions, 30)}`);
