import { readFile } from 'node:fs/promises';
import { fmt, renderTable } from '../report/bench-report.js';

/** The parts of V8's `.cpuprofile` (what `node --cpu-prof` writes) that self time needs. */
export interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  /** µs before each sample. */
  timeDeltas: number[];
}

interface CallFrame {
  functionName: string;
  url: string;
  /** 0-based */
  lineNumber: number;
}

export interface SelfTime {
  name: string;
  /** package, `node:` module or repo-relative file, with the 1-based line */
  where: string;
  /** npm package, `node core`, `piapi` or a V8 pseudo-node such as `(garbage collector)` */
  area: string;
  selfMs: number;
}

const PSEUDO = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/**
 * Self time per function (same name, file and line merged), largest first. Samples in the first
 * `skipMs` of the profile (process start-up: module loading, config parsing) are left out.
 */
export function selfTimes(profile: CpuProfile, skipMs = 0): SelfTime[] {
  const byNode = new Map<number, number>();
  let at = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at >= skipMs * 1000) byNode.set(id, (byNode.get(id) ?? 0) + delta);
  });
  const merged = new Map<string, SelfTime>();
  for (const node of profile.nodes) {
    const us = byNode.get(node.id);
    if (!us) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const key = `${name}\n${url}\n${lineNumber}`;
    const entry = merged.get(key) ?? { name, where: where(url, lineNumber), area: area(name, url), selfMs: 0 };
    entry.selfMs += us / 1000;
    merged.set(key, entry);
  }
  return [...merged.values()].sort((a, b) => b.selfMs - a.selfMs);
}

/**
 * Total (inclusive) time of the functions of one area (piapi's own code by default): every sample
 * counts once for each distinct such function on its stack. Shows which of piapi's steps cost what,
 * framework and Node time included.
 */
export function totalTimes(profile: CpuProfile, skipMs = 0, inArea = 'piapi'): SelfTime[] {
  const parent = new Map<number, number>();
  const byId = new Map<number, CpuProfile['nodes'][number]>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const totals = new Map<string, SelfTime>();
  let at = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < skipMs * 1000) return;
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const { functionName, url, lineNumber } = byId.get(n)!.callFrame;
      const name = functionName || '(anonymous)';
      if (area(name, url) !== inArea) continue;
      const key = `${name}\n${url}\n${lineNumber}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = totals.get(key) ?? { name, where: where(url, lineNumber), area: inArea, selfMs: 0 };
      entry.selfMs += delta / 1000;
      totals.set(key, entry);
    }
  });
  return [...totals.values()].sort((a, b) => b.selfMs - a.selfMs);
}

/** Self time summed by package / area, largest first. */
export function areaTimes(times: readonly SelfTime[]): { area: string; selfMs: number }[] {
  const byArea = new Map<string, number>();
  for (const t of times) byArea.set(t.area, (byArea.get(t.area) ?? 0) + t.selfMs);
  return [...byArea.entries()].map(([a, selfMs]) => ({ area: a, selfMs })).sort((a, b) => b.selfMs - a.selfMs);
}

/** Markdown: the top `top` functions by self time, then self time by package. Idle time is left out of the percentages. */
export function summarizeProfile(profile: CpuProfile, top = 20, skipMs = 0): string {
  const times = selfTimes(profile, skipMs);
  const idle = times.filter((t) => t.name === '(idle)').reduce((s, t) => s + t.selfMs, 0);
  const busy = times.filter((t) => t.name !== '(idle)');
  const busyMs = busy.reduce((s, t) => s + t.selfMs, 0);
  const pct = (ms: number) => `${((100 * ms) / busyMs).toFixed(1)}%`;
  const functions = renderTable({
    headers: ['#', 'self ms', 'self %', 'function', 'where'],
    rows: busy.slice(0, top).map((t, i) => [String(i + 1), fmt(t.selfMs), pct(t.selfMs), clip(t.name, 60), t.where]),
  });
  const areas = renderTable({
    headers: ['area', 'self ms', 'self %'],
    rows: areaTimes(busy)
      .slice(0, 15)
      .map((a) => [a.area, fmt(a.selfMs), pct(a.selfMs)]),
  });
  const own = renderTable({
    headers: ['total ms', 'total %', 'piapi function', 'where'],
    rows: totalTimes(profile, skipMs)
      .slice(0, 15)
      .map((t) => [fmt(t.selfMs), pct(t.selfMs), clip(t.name, 60), t.where]),
  });
  return [
    `busy ${fmt(busyMs)} ms (idle ${fmt(idle)} ms not counted${skipMs > 0 ? `; the first ${fmt(skipMs)} ms, start-up, left out` : ''})`,
    '',
    functions,
    '',
    'Self time by area:',
    '',
    areas,
    '',
    "piapi's own functions (dist/) by total time, callees included:",
    '',
    own,
  ].join('\n');
}

export async function summarizeProfileFile(path: string, top = 20, skipMs = 0): Promise<string> {
  return summarizeProfile(JSON.parse(await readFile(path, 'utf8')) as CpuProfile, top, skipMs);
}

/** Long names (a RegExp's source) are cut; `|` would break the Markdown table. */
function clip(name: string, max: number): string {
  const flat = name.replace(/\|/g, '¦').replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function where(url: string, lineNumber: number): string {
  if (!url) return '';
  const line = lineNumber >= 0 ? `:${lineNumber + 1}` : '';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm !== -1) return path.slice(nm + '/node_modules/'.length) + line;
  const dist = path.lastIndexOf('/dist/');
  if (dist !== -1) return path.slice(dist + 1) + line;
  return path + line;
}

function area(name: string, url: string): string {
  if (PSEUDO.has(name) && !url) return name;
  if (!url) return '(native / builtins)';
  if (url.startsWith('node:')) return 'node core';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const parts = path.slice(nm + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (path.includes('/dist/')) return 'piapi';
  return 'other';
}
