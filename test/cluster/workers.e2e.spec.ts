import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { childPids } from '../support/child-processes.js';
import { passThroughConfigYaml } from '../support/config-fixtures.js';
import { eventually } from '../support/gateway-harness.js';
import { killGateway, spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { checkMetrics, ensurePromtool } from '../support/promtool.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';

const KEY = 'piapi-user-workers-00000001';
const WORKERS = { PIAPI_WORKERS: '2', PIAPI_SHUTDOWN_DELAY_MS: '400' };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One request on a connection of its own: the primary hands connections to workers in turn. */
async function get(url: string, path: string): Promise<{ status: number; body: string }> {
  const res = await request(`${url}${path}`, { headers: { authorization: `Bearer ${KEY}` }, reset: true, headersTimeout: 5000 });
  return { status: res.statusCode, body: await res.body.text() };
}

function requestsTotal(metrics: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) if (line.startsWith('piapi_requests_total{')) total += Number(line.split(' ').at(-1));
  return total;
}

describe('piapi start --workers 2', () => {
  let upstream: RecordingUpstream;
  let dir: string;
  let gw: GatewayProcess | undefined;

  beforeAll(async () => {
    upstream = await startRecordingUpstream((req, res) => {
      if (req.url?.endsWith('/stream')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        let n = 0;
        const timer = setInterval(() => {
          res.write(`data: {"n":${++n}}\n\n`);
          if (n === 10) {
            clearInterval(timer);
            res.end('event: done\ndata: {}\n\n');
          }
        }, 100);
        res.on('close', () => clearInterval(timer));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    dir = await mkdtemp(join(tmpdir(), 'piapi-workers-'));
    await writeFile(
      join(dir, 'config.yaml'),
      passThroughConfigYaml({ upstreamUrl: upstream.url, user: 'u', key: KEY, providerKey: 'sk-workers-provider-0000000' }),
    );
    await writeFile(join(dir, 'bad.yaml'), 'providers: nope\n');
  });
  afterEach(async () => {
    await killGateway(gw);
    gw = undefined;
  });
  afterAll(async () => {
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs two workers under one primary, and every scrape of /metrics counts the requests of both', async () => {
    gw = await spawnGateway(join(dir, 'config.yaml'), WORKERS);
    expect(childPids(gw.child.pid!)).toHaveLength(2);
    for (let i = 0; i < 40; i++) expect((await get(gw.url, '/piapi/cx/ok')).status).toBe(200);
    // Each scrape lands on one worker or the other; each must see all 40 requests.
    for (let i = 0; i < 6; i++) {
      const metrics = (await get(gw.url, '/metrics')).body;
      expect(requestsTotal(metrics)).toBe(40);
      expect(metrics).toMatch(/^piapi_config_info\{hash="[0-9a-f]+"\} 1$/m);
      expect(metrics).toMatch(/^piapi_config_reloads_total\{result="success"\} 0$/m);
    }
    expect(checkMetrics(ensurePromtool(), (await get(gw.url, '/metrics')).body)).toBe('');
  });

  it('writes whole JSON log lines from both workers, each with its pid, under concurrent load', async () => {
    gw = await spawnGateway(join(dir, 'config.yaml'), WORKERS);
    const workers = childPids(gw.child.pid!);
    const answers = await Promise.all(Array.from({ length: 200 }, () => get(gw!.url, '/piapi/cx/ok')));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const g = gw;
    await eventually(() => g.output().split('\n').filter((l) => l.includes('"request completed"')).length === 200);
    const lines = g.output().split('\n').filter((l) => l.startsWith('{'));
    const records = lines.map((line) => JSON.parse(line) as { pid?: number; msg?: string });
    const pids = new Set(records.filter((r) => r.msg === 'request completed').map((r) => r.pid));
    expect([...pids].sort()).toEqual([...workers].sort());
  });

  it('replaces a worker that dies, and keeps answering meanwhile', async () => {
    gw = await spawnGateway(join(dir, 'config.yaml'), WORKERS);
    const primary = gw.child.pid!;
    const [victim, survivor] = childPids(primary);
    process.kill(victim, 'SIGKILL');
    // A connection the primary hands out in the instant the worker dies is lost with it (Node's
    // cluster); once the primary has seen the death, the survivor takes every connection.
    const g = gw;
    await eventually(() => new RegExp(`worker ${victim} died \\(SIGKILL\\); starting another`).test(g.output()), 10_000);
    for (let i = 0; i < 10; i++) expect((await get(gw.url, '/piapi/cx/ok')).status).toBe(200);
    await eventually(() => childPids(primary).length === 2 && !childPids(primary).includes(victim), 15_000);
    expect(childPids(primary)).toContain(survivor);
    for (let i = 0; i < 10; i++) expect((await get(gw.url, '/piapi/cx/ok')).status).toBe(200);
  });

  it('on SIGTERM turns readiness 503, finishes an open stream, and every process exits 0', async () => {
    gw = await spawnGateway(join(dir, 'config.yaml'), WORKERS);
    const workers = childPids(gw.child.pid!);
    const stream = await request(`${gw.url}/piapi/cx/stream`, { headers: { authorization: `Bearer ${KEY}` } });
    const body = stream.body.text();
    gw.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    const ready = await get(gw.url, '/readyz');
    expect(ready.status).toBe(503);
    expect(await body).toContain('event: done');
    expect(await gw.exited).toBe(0);
    expect(workers.some(alive)).toBe(false);
  });

  it('stops with exit 1 when the workers cannot start', async () => {
    await expect(spawnGateway(join(dir, 'bad.yaml'), WORKERS)).rejects.toThrow(/failed to start/);
  });

  it('refuses a worker count that is not a number from 1 to 256 or "auto"', async () => {
    await expect(spawnGateway(join(dir, 'config.yaml'), { PIAPI_WORKERS: 'two' })).rejects.toThrow(/invalid worker count "two"/);
  });
});
