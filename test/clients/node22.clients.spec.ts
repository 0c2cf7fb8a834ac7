import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { node22Bin } from './clients.js';

const KEY = 'piapi-user-node22-000000001';

/** The image runs Node 22: the same build must serve there as on this machine's Node 20. */
describe('piapi on Node 22', () => {
  let fake: ProviderFake;
  let dir: string;
  let gw: GatewayProcess;

  beforeAll(async () => {
    fake = await startAnthropicMessagesFake({ text: ['Hello ', 'from Node 22.'] });
    dir = await mkdtemp(join(tmpdir(), 'piapi-node22-'));
    const config = join(dir, 'config.yaml');
    await writeFile(
      config,
      `providers:
  - name: p
    apiKeys: { k: sk-node22-provider-0000001 }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: ${fake.url}, defaultModel: m }
    services: [{ type: cc, baseUrl: ${fake.url}, auth: { mode: header, name: x-api-key } }]
users:
  - { name: u, apiKey: ${KEY}, providerName: p, providerKeyName: k }
`,
    );
    gw = await spawnGateway(config, { PIAPI_SHUTDOWN_DELAY_MS: '0' }, node22Bin);
  });
  afterAll(async () => {
    gw?.child.kill('SIGTERM');
    await gw?.exited;
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs under a Node 22 binary', () => {
    expect(execFileSync(node22Bin, ['--version'], { encoding: 'utf8' })).toMatch(/^v22\./);
  });

  it('serves health, pass-through and /v1/messages', async () => {
    expect((await request(`${gw.url}/healthz`)).statusCode).toBe(200);
    const body = JSON.stringify({ model: 'm', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const headers = { 'x-api-key': KEY, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
    const passThrough = await request(`${gw.url}/piapi/cc/v1/messages`, { method: 'POST', headers, body });
    const passed = await passThrough.body.text();
    expect(passed, passed).toContain('from Node 22.');
    const translated = await request(`${gw.url}/v1/messages`, { method: 'POST', headers, body });
    const text = await translated.body.text();
    expect(text).toContain('event: message_stop');
    expect(text).toContain('from Node 22.');
  });

  it('exits 0 on SIGTERM', async () => {
    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
  });
});
