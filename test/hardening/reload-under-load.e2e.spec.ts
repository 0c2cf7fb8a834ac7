import { createHash } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';

const KEY = 'piapi-user-reload-load-000001';
const CLIENTS = 50;
const RELOADS = 100;
const TICKS = 10;

function validConfig(upstream: string, version: number): string {
  return `
providers:
  - name: p
    apiKeys: { k: sk-reload-load-provider-secret }
    services:
      - { type: cx, baseUrl: "${upstream}/base", headers: { x-config-version: "v${version}" } }
  - name: spare-${version}
    apiKeys: { k: sk-spare-${version} }
users:
  - { name: u, apiKey: ${KEY}, providerName: p, providerKeyName: k }
`;
}

/** Five kinds of broken file, in turn: what editors, bad merges and half-finished writes leave behind. */
function invalidConfig(upstream: string, n: number): string {
  const valid = validConfig(upstream, 9999);
  switch (n % 5) {
    case 0:
      return 'providers: [\n  - name: p\n    apiKeys: {';
    case 1:
      return valid.replace('users:', 'userz:');
    case 2:
      return '';
    case 3:
      return valid.slice(0, Math.floor(valid.length / 2));
    default:
      return valid.replace('providerName: p,', 'providerName: nobody,');
  }
}

function metric(text: string, result: 'success' | 'failure'): number {
  const match = new RegExp(`^piapi_config_reloads_total\\{result="${result}"\\} (\\d+)`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

describe('config reloads under load', () => {
  let upstream: RecordingUpstream;
  let gw: TestGateway;
  const dispatcher = new Agent({ connections: CLIENTS + 10 });

  beforeAll(async () => {
    upstream = await startRecordingUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0;
      const timer = setInterval(() => {
        n++;
        res.write(`event: tick\ndata: {"n":${n}}\n\n`);
        if (n === TICKS) {
          clearInterval(timer);
          res.end('event: done\ndata: {}\n\n');
        }
      }, 30);
      res.on('close', () => clearInterval(timer));
    });
    gw = await startTestGateway(validConfig(upstream.url, 0));
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
    await dispatcher.close();
  });

  const scrape = async () => (await (await request(`${gw.url}/metrics`, { dispatcher })).body.text());

  it(`serves ${CLIENTS} streaming clients without a failed or truncated request through ${RELOADS} reloads, valid and invalid in turn`, async () => {
    const before = await scrape();
    let reloads = 0;
    gw.store.onReload(() => reloads++);
    let writing = true;
    const failures: string[] = [];
    let completed = 0;

    const client = async (id: number) => {
      while (writing) {
        try {
          const res = await request(`${gw.url}/piapi/cx/stream?client=${id}`, {
            headers: { authorization: `Bearer ${KEY}` },
            dispatcher,
            headersTimeout: 10_000,
            bodyTimeout: 10_000,
          });
          const text = await res.body.text();
          if (res.statusCode !== 200) failures.push(`client ${id}: status ${res.statusCode} ${text.slice(0, 200)}`);
          else if (!text.includes(`"n":${TICKS}`) || !text.endsWith('event: done\ndata: {}\n\n')) failures.push(`client ${id}: truncated: ${text.slice(-80)}`);
          else completed++;
        } catch (err) {
          failures.push(`client ${id}: ${(err as Error).message}`);
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, i) => client(i));

    let lastValid = '';
    let n = 0;
    for (let i = 0; i < RELOADS; i++) {
      const text = i % 2 === 0 ? validConfig(upstream.url, i) : invalidConfig(upstream.url, n++);
      if (i % 2 === 0) lastValid = text;
      const seen = reloads;
      // A temp file renamed over the config: one write, one file event, one reload.
      const temp = join(gw.dir, `.next-${i}.tmp`);
      await writeFile(temp, text);
      await rename(temp, gw.configPath);
      await eventually(() => reloads > seen, 5000);
      if (i % 2 === 0) expect(gw.store.current.hash).toBe(createHash('sha256').update(text).digest('hex').slice(0, 12));
    }
    // No late, duplicate reloads either.
    await new Promise((r) => setTimeout(r, 400));
    writing = false;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    expect(completed).toBeGreaterThanOrEqual(CLIENTS);
    expect(reloads).toBe(RELOADS);

    const after = await scrape();
    expect(metric(after, 'success') - metric(before, 'success')).toBe(RELOADS / 2);
    expect(metric(after, 'failure') - metric(before, 'failure')).toBe(RELOADS / 2);

    // The last valid file is what runs, and what new requests get.
    const lastHash = createHash('sha256').update(lastValid).digest('hex').slice(0, 12);
    expect(gw.store.current.hash).toBe(lastHash);
    expect(after).toContain(`piapi_config_info{hash="${lastHash}"} 1`);
    const res = await request(`${gw.url}/piapi/cx/stream`, { headers: { authorization: `Bearer ${KEY}` }, dispatcher });
    await res.body.text();
    expect(upstream.requests.at(-1)!.headers['x-config-version']).toBe(`v${RELOADS - 2}`);
    // Every request ran on a valid snapshot.
    for (const r of upstream.requests) expect(String(r.headers['x-config-version'])).toMatch(/^v\d+$/);
    expect(upstream.requests.some((r) => r.headers['x-config-version'] === 'v9999')).toBe(false);
  }, 90_000);
});
