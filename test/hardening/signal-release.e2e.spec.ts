import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { postRaw } from './support/anthropic-client.js';
import { SCRIPTED_API, registerScriptedApi, type Scenario } from './support/pi-scenarios.js';

const KEY = 'piapi-user-signal-release-001';
const REQUESTS = 30;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * The soak found one AbortSignal (with its controller, listeners and weak refs) retained per
 * /v1/messages request: a composite AbortSignal.any() signal that the SDK had put an abort
 * listener on stays pinned by Node until it aborts. This checks that the signal pi-ai gets is
 * collectable once the request is over.
 */
describe('per-request upstream signals', () => {
  const scenarios = new Map<string, Scenario>([['1', { api: 'openai-completions', blocks: [{ kind: 'text', deltas: ['hi'], ends: true, lateId: false }], order: [], ending: 'stop', pauses: [] }]]);
  const signals: WeakRef<AbortSignal>[] = [];
  let unregister: () => void;
  let gw: TestGateway;

  beforeAll(async () => {
    unregister = registerScriptedApi(scenarios, (options) => {
      if (options?.signal) signals.push(new WeakRef(options.signal));
    });
    gw = await startTestGateway(`
providers:
  - name: scripted
    apiKeys: { k: scripted-provider-secret-0002 }
    llm: { provider: scripted, api: ${SCRIPTED_API}, baseUrl: "http://127.0.0.1:9", defaultModel: scripted-model }
users:
  - { name: u, apiKey: ${KEY}, providerName: scripted, providerKeyName: k }
`);
  });
  afterAll(async () => {
    await gw.stop();
    unregister();
  });

  it('are garbage once their request has finished, stream or not', async () => {
    for (let i = 0; i < REQUESTS; i++) {
      const reply = await postRaw(
        `${gw.url}/v1/messages`,
        JSON.stringify({ model: 'any', max_tokens: 16, stream: i % 2 === 0, messages: [{ role: 'user', content: 'scenario:1' }] }),
        { 'x-api-key': KEY, 'content-type': 'application/json' },
      );
      expect(reply.status).toBe(200);
    }
    expect(signals).toHaveLength(REQUESTS);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
      gc();
    }
    const alive = signals.filter((ref) => ref.deref() !== undefined).length;
    // Keep-alive sockets may hold the very last request's objects a while longer.
    expect(alive).toBeLessThanOrEqual(2);
  });
});
