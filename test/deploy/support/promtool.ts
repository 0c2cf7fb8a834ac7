import { execFileSync, spawnSync } from 'node:child_process';
import { repoPath } from './repo-files.js';

export type PromtoolLookup = { path: string; skipReason?: undefined } | { path?: undefined; skipReason: string };

function whichPromtool(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

/**
 * Finds promtool, installing it with scripts/setup-prometheus.sh in CI (always: the script is
 * idempotent) or when it is missing. In CI a failed install throws, so the checks can never be
 * skipped there; elsewhere it returns a reason to skip (e.g. not root, no apt).
 */
export function ensurePromtool(): PromtoolLookup {
  const inCi = Boolean(process.env.CI);
  const existing = whichPromtool();
  if (existing && !inCi) return { path: existing };
  try {
    execFileSync('bash', [repoPath('scripts/setup-prometheus.sh')], { stdio: 'pipe', encoding: 'utf8' });
  } catch (err) {
    const output = err instanceof Error && 'stderr' in err ? String(err.stderr) : String(err);
    if (inCi) throw new Error(`scripts/setup-prometheus.sh failed in CI:\n${output}`, { cause: err });
    return { skipReason: `promtool is not installed and scripts/setup-prometheus.sh could not install it: ${output.trim()}` };
  }
  const installed = whichPromtool();
  if (installed) return { path: installed };
  if (inCi) throw new Error('scripts/setup-prometheus.sh succeeded but promtool is still not on PATH');
  return { skipReason: 'promtool is still not on PATH after scripts/setup-prometheus.sh' };
}

export interface PromtoolRun {
  status: number | null;
  output: string;
}

export function runPromtool(promtool: string, args: string[], cwd?: string): PromtoolRun {
  const run = spawnSync(promtool, args, { cwd, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
