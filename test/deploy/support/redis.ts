import { execFileSync, spawnSync } from 'node:child_process';
import { repoPath } from './repo-files.js';

export type RedisLookup = { skipReason?: undefined } | { skipReason: string };

const installed = () => spawnSync('sh', ['-c', 'command -v redis-server && command -v redis-cli'], { encoding: 'utf8' }).status === 0;

/**
 * Makes sure redis-server and redis-cli are installed, as ensurePromtool does for promtool:
 * scripts/setup-redis.sh always runs in CI (it is idempotent) and whenever they are missing. In CI
 * a failed install throws, so the Redis checks can never be skipped there; elsewhere it returns a
 * reason to skip (e.g. not root, no apt).
 */
export function ensureRedisServer(): RedisLookup {
  const inCi = Boolean(process.env.CI);
  if (installed() && !inCi) return {};
  try {
    execFileSync('bash', [repoPath('scripts/setup-redis.sh')], { stdio: 'pipe', encoding: 'utf8', timeout: 540_000 });
  } catch (err) {
    const output = err instanceof Error && 'stderr' in err ? String(err.stderr) : String(err);
    if (inCi) throw new Error(`scripts/setup-redis.sh failed in CI:\n${output}`, { cause: err });
    return { skipReason: `redis-server is not installed and scripts/setup-redis.sh could not install it: ${output.trim()}` };
  }
  if (installed()) return {};
  if (inCi) throw new Error('scripts/setup-redis.sh succeeded but redis-server is still not on PATH');
  return { skipReason: 'redis-server is still not on PATH after scripts/setup-redis.sh' };
}
