import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SETUP = fileURLToPath(new URL('../../scripts/setup-prometheus.sh', import.meta.url));

/** Makes sure promtool is installed (Debian's prometheus package) and returns its path. */
export function ensurePromtool(): string {
  execFileSync('bash', [SETUP], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  return execFileSync('bash', ['-c', 'command -v promtool'], { encoding: 'utf8' }).trim();
}

/** Runs `promtool check metrics` on an exposition text; returns its complaints (empty when clean). */
export function checkMetrics(promtool: string, exposition: string): string {
  const result = spawnSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return `${result.stdout}${result.stderr}`.trim() + (result.status === 0 ? '' : `\n(exit ${result.status})`);
}
