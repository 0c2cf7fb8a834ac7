import { hostname } from 'node:os';
import { open, readFile, stat, unlink } from 'node:fs/promises';

export interface FileLockOptions {
  /** How long to wait for another holder before giving up. */
  waitMs: number;
  /** A lock file older than this is taken to be left behind (its holder on another host died). */
  staleMs: number;
}

export class FileLockTimeoutError extends Error {}

const HOLDER = `${hostname()} ${process.pid}`;

/**
 * Runs `fn` while holding `<path>.lock`, an exclusive-create lock file that other processes
 * (gateway replicas sharing a volume, `piapi login`) honour too. The file names its holder, so a
 * lock left by a dead process on this host is taken over at once; one from another host only
 * after `staleMs`. Where no lock file can be created at all (read-only folder), `fn` runs
 * unlocked: its own writes will fail the same way.
 */
export async function withFileLock<T>(path: string, options: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + options.waitMs;
  let held = false;
  for (;;) {
    try {
      const handle = await open(lock, 'wx', 0o600);
      await handle.writeFile(HOLDER).finally(() => handle.close());
      held = true;
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') break;
      if (code !== 'EEXIST') throw err;
    }
    if (await isStale(lock, options.staleMs)) {
      await unlink(lock).catch(() => undefined);
      continue;
    }
    if (Date.now() >= deadline) throw new FileLockTimeoutError(`timed out waiting for ${lock}`);
    await new Promise((resolve) => setTimeout(resolve, 25 + Math.random() * 50));
  }
  try {
    return await fn();
  } finally {
    if (held) await unlink(lock).catch(() => undefined);
  }
}

async function isStale(lock: string, staleMs: number): Promise<boolean> {
  try {
    const [info, holder] = await Promise.all([stat(lock), readFile(lock, 'utf8')]);
    const [host, pid] = holder.split(' ');
    if (host === hostname() && Number(pid) > 0 && !isAlive(Number(pid))) return true;
    return Date.now() - info.mtimeMs > staleMs;
  } catch {
    // Gone meanwhile (or half-written): try again.
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
