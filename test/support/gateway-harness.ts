import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startGateway, type RunningGateway } from '../../src/main.js';

/** Collects the gateway's JSON log lines in memory. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  private partial = '';

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    const text = this.partial + chunk.toString('utf8');
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts.filter((l) => l.length > 0));
    done();
  }

  get text(): string {
    return this.lines.join('\n') + this.partial;
  }

  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export interface TestGateway extends RunningGateway {
  dir: string;
  configPath: string;
  logs: LogCapture;
  writeConfig(yaml: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a real gateway on 127.0.0.1:0 with `yaml` as its config file in a temp dir. */
export async function startTestGateway(yaml: string, options: { listen?: string } = {}): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'piapi-test-'));
  const configPath = join(dir, 'config.yaml');
  await writeFile(configPath, yaml);
  const logs = new LogCapture();
  const gateway = await startGateway({ configPath, listen: options.listen ?? '127.0.0.1:0', logDestination: logs });
  return {
    ...gateway,
    dir,
    configPath,
    logs,
    writeConfig: (text: string) => writeFile(configPath, text),
    stop: async () => {
      await gateway.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns true or the deadline passes. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
