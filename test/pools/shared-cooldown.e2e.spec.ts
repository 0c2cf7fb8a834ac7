import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killGateway, spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { TestRedis } from '../support/redis-server.js';

const USER = 'piapi-user-shared-cooldown-0123';
const K1 = 'sk-shared-key-one-111111';
const K2 = 'sk-shared-key-two-222222';

describe('key pool cooldowns in Redis', () => {
  let redis: TestRedis;
  let upstream: RecordingUpstream;
  let dir: string;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    redis = await TestRedis.start();
    upstream = await startRecordingUpstream((req, res) => {
      const limited = req.headers.authorization === `Bearer ${K1}`;
      res.writeHead(limited ? 429 : 200, { 'content-type': 'application/json', ...(limited ? { 'retry-after': '30' } : {}) });
      res.end(JSON.stringify({ key: limited ? 'k1' : 'k2' }));
    });
    dir = await mkdtemp(join(tmpdir(), 'piapi-pools-'));
    const configPath = join(dir, 'config.yaml');
    await writeFile(
      configPath,
      `state:
  redis: { url: ${redis.url}, keyPrefix: 'pools-test:' }
providers:
  - name: chatgpt
    apiKeys: { k1: ${K1}, k2: ${K2} }
    keyPools:
      team: { keys: [k1, k2], strategy: fill-first }
    services: [{ type: cx, baseUrl: ${upstream.url} }]
users:
  - { name: Alice, apiKey: ${USER}, providerName: chatgpt, providerKeyName: team }
`,
    );
    gateways.push(await spawnGateway(configPath), await spawnGateway(configPath));
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => killGateway(g)));
    await upstream.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function post(gw: GatewayProcess): Promise<{ status: number; key: string }> {
    const res = await request(`${gw.url}/piapi/cx/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${USER}`, 'content-type': 'application/json' }, body: '{"input":"hi"}' });
    return { status: res.statusCode, key: (JSON.parse(await res.body.text()) as { key: string }).key };
  }

  it("skips a key another gateway process found rate limited, without calling the upstream with it", async () => {
    const [a, b] = gateways;
    expect(await post(a)).toEqual({ status: 200, key: 'k2' });
    const seenByA = upstream.requests.map((r) => r.headers.authorization);
    expect(seenByA).toEqual([`Bearer ${K1}`, `Bearer ${K2}`]);

    for (let i = 0; i < 3; i++) expect(await post(b)).toEqual({ status: 200, key: 'k2' });

    expect(upstream.requests.slice(2).map((r) => r.headers.authorization)).toEqual([`Bearer ${K2}`, `Bearer ${K2}`, `Bearer ${K2}`]);
    const plain = redis.client();
    const record = await plain.get('pools-test:cooldown:chatgpt:k1');
    plain.disconnect();
    expect(record).toMatch(/^\d+:1$/);
    const metrics = await (await request(`${b.url}/metrics`)).body.text();
    expect(metrics).toContain('piapi_provider_key_available{provider="chatgpt",key="k1"} 0');
    // B never called k1: the pool gauge and the seconds left come from the record in Redis.
    expect(metrics).toContain('piapi_key_pool_available_keys{provider="chatgpt",pool="team"} 1');
    const left = Number(/^piapi_provider_key_cooldown_seconds\{provider="chatgpt",key="k1"\} (\S+)$/m.exec(metrics)?.[1]);
    expect(left).toBeGreaterThan(20);
    expect(left).toBeLessThanOrEqual(30);
  });
});
