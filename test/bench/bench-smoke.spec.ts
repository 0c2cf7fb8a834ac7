import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The benchmark still runs end to end: a --quick pass over items 1, 2 and 5 (fake upstream, bare
 * proxy, real `piapi start` processes, config scale). No timing is asserted: this machine is shared.
 */
describe('npm run bench --quick', () => {
  let run: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    try {
      const { stdout, stderr } = await promisify(execFile)(
        process.execPath,
        // --against this very checkout: the extra column works (a real run names an earlier commit's worktree).
        ['--import', 'tsx', 'bench/run.ts', '--quick', '--only', '1,2,5', '--probe', '50', '--against', REPO],
        { cwd: REPO, maxBuffer: 16 * 1024 * 1024, timeout: 170_000 },
      );
      run = { code: 0, stdout, stderr };
    } catch (err) {
      const failed = err as { code?: number; stdout?: string; stderr?: string };
      run = { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(err) };
    }
  }, 180_000);

  it('completes with exit code 0', () => {
    expect(run.code, run.stderr).toBe(0);
  });

  it('prints the pass-through table with the direct, bare proxy and piapi columns', () => {
    expect(run.stdout).toContain('## Item 1');
    expect(run.stdout).toMatch(/^\| direct +\|/m);
    expect(run.stdout).toMatch(/^\| bare proxy +\|/m);
    expect(run.stdout).toMatch(/^\| piapi +\|/m);
  });

  it('measures piapi with limits and Redis on as one more column, with the Redis commands per request', () => {
    expect(run.stdout).toMatch(/^\| piapi \(limits \+ Redis\) +\| +[\d,]+ \|/m);
    expect(run.stdout).toMatch(/^- piapi \(limits \+ Redis\): Redis processed [\d.]+ commands per request/m);
    expect(run.stdout).toMatch(/^\| pass-through throughput vs bare proxy, limits \+ Redis on +\|/m);
  });

  it('measures a pool of 3 keys and a pool whose first key always fails over, with what a failover adds', () => {
    expect(run.stdout).toMatch(/^\| piapi \(pool of 3\) +\| +[\d,]+ \|.*\| 0 \/ 0 +\|$/m);
    // Every request of the failover column was answered 200 by the second key.
    expect(run.stdout).toMatch(/^\| piapi \(pool, failover\) +\| +[\d,]+ \|.*\| 0 \/ 0 +\|$/m);
    expect(run.stdout).toMatch(/^- piapi \(pool, failover\): .* a failover adds [+-][\d.]+ ms to the unloaded median/m);
    expect(run.stdout).toMatch(/^\| pass-through throughput vs bare proxy, pool of 3 keys +\|/m);
  });

  it('measures the --against checkout as one more column, and compares the two', () => {
    expect(run.stdout).toMatch(/^\| piapi \(against\) +\| +[\d,]+ \|/m);
    expect(run.stdout).toMatch(/^- piapi vs piapi \(against\): [\d.]+× the throughput; CPU per request [\d.,]+ vs [\d.,]+ µs/m);
  });

  it('prints the SSE table with first-byte times', () => {
    expect(run.stdout).toContain('## Item 2');
    expect(run.stdout).toContain('TTFB median ms');
  });

  it('prints the config scale figures for 10 and 10 000 users', () => {
    expect(run.stdout).toContain('## Item 5');
    expect(run.stdout).toMatch(/^\| +10,000 \|/m);
  });

  it('prints the targets with PASS or FAIL markers', () => {
    expect(run.stdout).toContain('## Targets');
    expect(run.stdout).toMatch(/\| (PASS|FAIL) \|/);
  });

  it('reports no failed item', () => {
    expect(run.stdout).not.toContain('FAILED');
  });
});
