import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LineWriter } from './line-writer.js';

const flushed = (writer: LineWriter) => new Promise<Error | undefined>((resolve) => writer.flush(resolve));

function lines(count: number, width = 100): string[] {
  // ASCII, 2-, 3- and 4-byte UTF-8 characters, so byte and character counts differ.
  const alphabet = ['a', 'é', '模', '😀'];
  return Array.from({ length: count }, (_, i) => `{"n":${i},"s":"${alphabet[i % 4].repeat(width)}"}\n`);
}

describe('LineWriter', () => {
  let dir: string;
  const fds: number[] = [];
  const open = (path: string, flags: number) => {
    const fd = openSync(path, flags);
    fds.push(fd);
    return fd;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piapi-line-writer-'));
  });
  /** A FIFO with a non-blocking reader (unread until a test reads it) and a non-blocking writer's fd. */
  const fifo = () => {
    const path = join(dir, 'fifo');
    execFileSync('mkfifo', [path]);
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    return { path, reader, writerFd: open(path, constants.O_WRONLY | constants.O_NONBLOCK) };
  };
  afterEach(() => {
    for (const fd of fds.splice(0)) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes every line whole and in order, lines longer than a chunk included', async () => {
    const file = join(dir, 'log');
    const writer = new LineWriter(open(file, constants.O_WRONLY | constants.O_CREAT));
    const all = [...lines(3000), `${'x'.repeat(200_000)}\n`, ...lines(3000)];
    for (const line of all) writer.write(line);
    expect(await flushed(writer)).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toBe(all.join(''));
  });

  it('writes in a few large writes, not one per line (write syscalls of a process of its own)', () => {
    // The test runner's own process writes too (its IPC): count in a clean one.
    const script = `
      import { openSync, readFileSync } from 'node:fs';
      import { LineWriter } from ${JSON.stringify(new URL('./line-writer.ts', import.meta.url).pathname)};
      const writes = () => Number(/syscw: (\\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))[1]);
      const writer = new LineWriter(openSync(${JSON.stringify(join(dir, 'log'))}, 'w'));
      const before = writes();
      for (let i = 0; i < 6000; i++) writer.write('{"n":' + i + ',"s":"' + 'é'.repeat(100) + '"}\\n');
      writer.flush(() => process.stdout.write(String(writes() - before)));
    `;
    const writes = Number(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' }));
    expect(readFileSync(join(dir, 'log'), 'utf8').split('\n')).toHaveLength(6001);
    // ~1.3 MB: one write per line would be 6000; writes of 16-64 KiB are 20-80.
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThan(100);
  });

  it('keeps lines below the flush size until flushed, and flushSync writes them at once', async () => {
    const file = join(dir, 'log');
    const writer = new LineWriter(open(file, constants.O_WRONLY | constants.O_CREAT));
    const few = lines(5, 10);
    for (const line of few) writer.write(line);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(readFileSync(file, 'utf8')).toBe('');
    writer.flushSync();
    expect(readFileSync(file, 'utf8')).toBe(few.join(''));
    writer.write('{"after":true}\n');
    expect(await flushed(writer)).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toBe(`${few.join('')}{"after":true}\n`);
  });

  it('waits for a full pipe (EAGAIN, partial writes) and loses nothing', async () => {
    const { reader, writerFd } = fifo();
    fds.push(reader);
    const writer = new LineWriter(writerFd);
    // Far more than a pipe holds (64 KiB): writes stop at EAGAIN until the reader drains.
    const all = lines(4000);
    for (const line of all) writer.write(line);
    const done = flushed(writer);
    const received: Buffer[] = [];
    const buffer = Buffer.alloc(64 * 1024);
    let settled = false;
    void done.then(() => (settled = true));
    /** Reads what the pipe holds now. */
    const drain = () => {
      try {
        for (let n; (n = readSync(reader, buffer)) > 0; ) received.push(Buffer.from(buffer.subarray(0, n)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      }
    };
    while (!settled) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      drain();
    }
    drain();
    expect(await done).toBeUndefined();
    expect(Buffer.concat(received).toString('utf8')).toBe(all.join(''));
  });

  it('at exit (flushSync) also writes a chunk that was waiting to retry a full pipe', async () => {
    const out = join(dir, 'out');
    const { path, reader, writerFd } = fifo();
    const writer = new LineWriter(writerFd);
    const all = lines(4000);
    for (const line of all) writer.write(line);
    // Nobody reads: the pipe fills, and the writer waits for its retry timer.
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Now a reader that drains it, started while this thread blocks in flushSync: no event
    // loop turn in between, so the retry timer cannot write first.
    const cat = spawn('sh', ['-c', `cat "${path}" > "${out}"`]);
    const catDone = new Promise((resolve) => cat.once('exit', resolve));
    writer.flushSync();
    closeSync(reader);
    // cat ends when the last writer is gone.
    closeSync(fds.splice(fds.indexOf(writerFd), 1)[0]);
    await catDone;
    // The first reader never read: every byte went to cat, in order.
    expect(readFileSync(out, 'utf8')).toBe(all.join(''));
  });

  it('stops logging, once and quietly, when the destination breaks (EPIPE)', async () => {
    const { reader, writerFd } = fifo();
    const broken: string[] = [];
    const writer = new LineWriter(writerFd, (err) => broken.push(err.code ?? ''));
    closeSync(reader);
    for (const line of lines(500)) writer.write(line);
    expect((await flushed(writer))?.message).toMatch(/EPIPE/);
    for (const line of lines(500)) writer.write(line);
    expect(await flushed(writer)).toBeUndefined();
    writer.flushSync();
    expect(broken).toEqual(['EPIPE']);
  });
});
