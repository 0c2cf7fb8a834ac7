import { open, stat, unlink } from 'node:fs/promises';

export interface FileLockOptions {
  /** How long to wait for another holder before giving up. */
  waitMs: number;
  /** A lock file older than this is taken to be left behind by a dead process. */
  staleMs: number;
}

export class FileLockTimeoutError extends Error {}

/**
 * Runs `fn` while holding `<path>.lock`, an exclusive-create lock file that other processes
 * (gateway replicas sharing a volume, `piapi login`) honour too. Where no lock file can be
 * created at all (read-only folder), `fn` runs unlocked: its own writes will fail the same way.
 */
export async function withFileLock<T>(path: string, options: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + options.waitMs;
  let held = false;
  for (;;) {
    try {
      const handle = await open(lock, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`).finally(() => handle.close());
      held = true;
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') break;
        throw err;
      }
    }
    const age = await stat(lock).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > options.staleMs) {
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
