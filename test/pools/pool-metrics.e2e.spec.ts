import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killGateway, spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { checkMetrics, ensurePromtool } from '../support/promtool.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';

const USER = 'piapi-user-pool-metrics-0123456';
const KEYS = { k1: 'sk-pool-metrics-one-111111', k2: 'sk-pool-metrics-two-222222', k3: 'sk-pool-metrics-three-3333' };
const RETRY_AFTER_S = 120;

/** The value of the one series `series` (name and labels as exposed), or undefined. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('key pool gauges on /metrics of a gateway process', () => {
  let upstream: RecordingUpstream;
  let gateway: GatewayProcess;
  let dir: string;
  let promtool: string;
  const scrape = async () => (await request(`${gateway.url}/metrics`)).body.text();

  beforeAll(async () => {
    promtool = ensurePromtool();
    // k1's account is limited for RETRY_AFTER_S; the others answer.
    upstream = await startRecordingUpstream((req, res) => {
      const limited = req.headers.authorization === `Bearer ${KEYS.k1}`;
      res.writeHead(limited ? 429 : 200, { 'content-type': 'application/json', ...(limited ? { 'retry-after': String(RETRY_AFTER_S) } : {}) });
      res.end(JSON.stringify({ limited }));
    });
    dir = await mkdtemp(join(tmpdir(), 'piapi-pool-metrics-'));
    // k1 is in two pools: `solo` has no other key, `team` has k2 as well; k3 is in no pool.
    await writeFile(
      join(dir, 'config.yaml'),
      `providers:
  - name: chatgpt
    apiKeys: { k1: ${KEYS.k1}, k2: ${KEYS.k2}, k3: ${KEYS.k3} }
    keyPools:
      team: { keys: [k1, k2], strategy: fill-first }
      solo: { keys: [k1] }
    services: [{ type: cx, baseUrl: ${upstream.url} }]
users:
  - { name: Alice, apiKey: ${USER}, providerName: chatgpt, providerKeyName: team }
`,
    );
    gateway = await spawnGateway(join(dir, 'config.yaml'));
  }, 300_000);
  afterAll(async () => {
    await killGateway(gateway);
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows every pool member available and every pool whole before any request', async () => {
    const text = await scrape();
    expect({
      k1: valueOf(text, 'piapi_provider_key_cooldown_seconds{provider="chatgpt",key="k1"}'),
      k2: valueOf(text, 'piapi_provider_key_cooldown_seconds{provider="chatgpt",key="k2"}'),
      team: [valueOf(text, 'piapi_key_pool_available_keys{provider="chatgpt",pool="team"}'), valueOf(text, 'piapi_key_pool_keys{provider="chatgpt",pool="team"}')],
      solo: [valueOf(text, 'piapi_key_pool_available_keys{provider="chatgpt",pool="solo"}'), valueOf(text, 'piapi_key_pool_keys{provider="chatgpt",pool="solo"}')],
    }).toEqual({ k1: 0, k2: 0, team: [2, 2], solo: [1, 1] });
    // A key in no pool has no pool series.
    expect(text).not.toMatch(/key="k3"/);
  });

  it("after a key's 429 with retry-after: its seconds left, and one key fewer in each of its pools", async () => {
    const res = await request(`${gateway.url}/piapi/cx/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${USER}`, 'content-type': 'application/json' }, body: '{"input":"hi"}' });
    expect(res.statusCode).toBe(200);
    await res.body.text();

    const text = await scrape();
    const cooldown = valueOf(text, 'piapi_provider_key_cooldown_seconds{provider="chatgpt",key="k1"}');
    expect(cooldown).toBeGreaterThan(RETRY_AFTER_S - 10);
    expect(cooldown).toBeLessThanOrEqual(RETRY_AFTER_S);
    expect({
      k1: valueOf(text, 'piapi_provider_key_available{provider="chatgpt",key="k1"}'),
      k2: [valueOf(text, 'piapi_provider_key_available{provider="chatgpt",key="k2"}'), valueOf(text, 'piapi_provider_key_cooldown_seconds{provider="chatgpt",key="k2"}')],
      team: valueOf(text, 'piapi_key_pool_available_keys{provider="chatgpt",pool="team"}'),
      solo: valueOf(text, 'piapi_key_pool_available_keys{provider="chatgpt",pool="solo"}'),
    }).toEqual({ k1: 0, k2: [1, 0], team: 1, solo: 0 });
  });

  it('passes promtool check metrics and holds no key value', async () => {
    const text = await scrape();
    expect(text).toContain('# TYPE piapi_key_pool_available_keys gauge');
    expect(text).toContain('# TYPE piapi_provider_key_cooldown_seconds gauge');
    expect(checkMetrics(promtool, text)).toBe('');
    for (const secret of [USER, ...Object.values(KEYS)]) expect(text).not.toContain(secret);
  });
});
