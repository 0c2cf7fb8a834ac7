import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { passThroughConfigYaml } from '../support/config-fixtures.js';
import { eventually } from '../support/gateway-harness.js';
import { killGateway, spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';

const KEY = 'piapi-user-stdout-log-0000001';
const USER = 'stdout-log-user';

interface LogRecord {
  msg?: string;
  user?: string;
  path?: string;
  request_id?: string;
}

function records(output: string): LogRecord[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogRecord);
}

const requestLines = (output: string) => records(output).filter((r) => r.msg === 'request completed');

/** The one-process gateway's real stdout: lines buffered in 16 KiB writes, flushed on a timer and at exit. */
describe('request log on stdout (one process)', () => {
  let upstream: RecordingUpstream;
  let dir: string;
  let gw: GatewayProcess | undefined;

  beforeAll(async () => {
    upstream = await startRecordingUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    dir = await mkdtemp(join(tmpdir(), 'piapi-stdout-log-'));
    await writeFile(
      join(dir, 'config.yaml'),
      passThroughConfigYaml({ upstreamUrl: upstream.url, user: USER, key: KEY, providerKey: 'fake-stdout-log-provider-key' }),
    );
  });
  afterEach(async () => {
    await killGateway(gw);
    gw = undefined;
  });
  afterAll(async () => {
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  const call = async (url: string, path: string) => {
    const res = await request(`${url}${path}`, { headers: { authorization: `Bearer ${KEY}` } });
    await res.body.text();
    return res.statusCode;
  };

  it('writes every request line whole, more than one buffer of them, without waiting for more traffic', async () => {
    gw = await spawnGateway(join(dir, 'config.yaml'), { PIAPI_SHUTDOWN_DELAY_MS: '0' });
    // ~400 bytes a line: 600 lines are several 16 KiB buffers, and a partly filled last one.
    const paths = Array.from({ length: 600 }, (_, i) => `/piapi/cx/ok/${i}`);
    for (let i = 0; i < paths.length; i += 50) {
      const statuses = await Promise.all(paths.slice(i, i + 50).map((p) => call(gw!.url, p)));
      expect(statuses.every((s) => s === 200)).toBe(true);
    }
    // The last partial buffer is written by the periodic flush, with no further request.
    const g = gw;
    await eventually(() => requestLines(g.output()).length === paths.length);
    const lines = requestLines(g.output());
    expect(new Set(lines.map((r) => r.path))).toEqual(new Set(paths));
    expect(lines.every((r) => r.user === USER)).toBe(true);
  });

  it('writes the lines still in the buffer when it stops', async () => {
    gw = await spawnGateway(join(dir, 'config.yaml'), { PIAPI_SHUTDOWN_DELAY_MS: '0' });
    expect(await call(gw.url, '/piapi/cx/last-words')).toBe(200);
    // Far less than a buffer, and stopped before the periodic flush can run: the shutdown flushes it.
    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
    expect(requestLines(gw.output()).map((r) => r.path)).toEqual(['/piapi/cx/last-words']);
  });
});
