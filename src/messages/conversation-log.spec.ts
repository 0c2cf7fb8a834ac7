import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConversationLog } from './conversation-log.js';

function tempFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'piapi-convlog-')), 'conversations.jsonl');
}

function lines(file: string): unknown[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}

describe('ConversationLog', () => {
  it('writes one JSON line per entry', async () => {
    const file = tempFile();
    const log = new ConversationLog({ file, maxQueueSize: 10 });
    log.log({ n: 1 });
    log.log({ n: 2 });
    await log.close();
    expect(lines(file)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('redacts configured secrets and key-shaped strings', async () => {
    const file = tempFile();
    const log = new ConversationLog({ file, maxQueueSize: 10, secrets: ['provider-secret-value', 'with"quote-secret'] });
    log.log({ a: 'provider-secret-value', b: 'Bearer abcdefghijkl', c: 'sk-abcdefghijklmnopqrst', d: 'with"quote-secret' });
    await log.close();
    expect(lines(file)).toEqual([{ a: '[REDACTED]', b: 'Bearer [REDACTED]', c: '[REDACTED]', d: '[REDACTED]' }]);
  });

  it('does not write on the caller’s turn', () => {
    const file = tempFile();
    const log = new ConversationLog({ file, maxQueueSize: 10 });
    log.log({ n: 1 });
    expect(log.queued).toBe(1);
    return log.close();
  });

  it('drops and counts entries beyond the queue size', async () => {
    const file = tempFile();
    const log = new ConversationLog({ file, maxQueueSize: 2 });
    expect([log.log({ n: 1 }), log.log({ n: 2 }), log.log({ n: 3 })]).toEqual([true, true, false]);
    expect(log.dropped).toBe(1);
    await log.close();
    expect(lines(file)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('counts entries it cannot serialize and goes on', async () => {
    const file = tempFile();
    const log = new ConversationLog({ file, maxQueueSize: 10 });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    log.log(cyclic);
    log.log({ n: 2 });
    await log.close();
    expect(log.failed).toBe(1);
    expect(lines(file)).toEqual([{ n: 2 }]);
  });

  it('survives a file it cannot open, counting what it drops', async () => {
    const log = new ConversationLog({ file: join(tempFile(), 'no', 'such', 'dir.jsonl'), maxQueueSize: 10 });
    log.log({ n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(log.error).toBeDefined();
    expect(log.log({ n: 2 })).toBe(false);
    expect(log.dropped).toBeGreaterThanOrEqual(1);
    await log.flush();
  });

  it('keeps up with a burst larger than one write slice', async () => {
    const file = tempFile();
    const log = new ConversationLog({ file, maxQueueSize: 1000 });
    const big = 'x'.repeat(50_000);
    for (let i = 0; i < 100; i++) log.log({ i, big });
    await log.close();
    expect(lines(file)).toHaveLength(100);
    expect(log.dropped).toBe(0);
  });
});
