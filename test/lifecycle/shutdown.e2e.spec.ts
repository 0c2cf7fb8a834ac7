import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway } from '../support/gateway-process.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';

const KEY = 'piapi-user-shutdown-0000001';

describe('SIGTERM', () => {
  let upstream: RecordingUpstream;
  let dir: string;

  beforeAll(async () => {
    // 20 events, 100 ms apart: a 2 s stream that must outlive the SIGTERM.
    upstream = await startRecordingUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0;
      const timer = setInterval(() => {
        n++;
        res.write(`event: tick\ndata: {"n":${n}}\n\n`);
        if (n === 20) {
          clearInterval(timer);
          res.end('event: done\ndata: {}\n\n');
        }
      }, 100);
      res.on('close', () => clearInterval(timer));
    });
    dir = await mkdtemp(join(tmpdir(), 'piapi-shutdown-'));
    await writeFile(
      join(dir, 'config.yaml'),
      `shutdownGraceMs: 10000
providers:
  - name: p
    apiKeys: { k: sk-shutdown-provider-0000000 }
    services: [{ type: cx, baseUrl: ${upstream.url} }]
users:
  - { name: u, apiKey: ${KEY}, providerName: p, providerKeyName: k }
`,
    );
  });
  afterAll(async () => {
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('turns readiness 503, lets 20 open streams finish untruncated, refuses new connections and exits 0', async () => {
    const gw = await spawnGateway(join(dir, 'config.yaml'), { PIAPI_SHUTDOWN_DELAY_MS: '500' });
    expect((await request(`${gw.url}/readyz`)).statusCode).toBe(200);

    const streams = await Promise.all(
      Array.from({ length: 20 }, () => request(`${gw.url}/piapi/cx/stream`, { headers: { authorization: `Bearer ${KEY}` } })),
    );
    const bodies = streams.map((s) => s.body.text());
    gw.child.kill('SIGTERM');

    // During the delay: still serving, but not ready.
    await new Promise((r) => setTimeout(r, 150));
    const ready = await request(`${gw.url}/readyz`, { reset: true });
    expect(ready.statusCode).toBe(503);
    await ready.body.text();

    // After the delay: new connections are refused while the streams still run.
    await new Promise((r) => setTimeout(r, 600));
    await expect(request(`${gw.url}/healthz`, { reset: true })).rejects.toThrow();

    for (const body of await Promise.all(bodies)) {
      expect(body).toContain('"n":20');
      expect(body).toContain('event: done');
    }
    expect(await gw.exited).toBe(0);
    expect(gw.output()).toContain('drained: all requests finished');
  });
});
