import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway-harness.js';

const USER_KEY = 'piapi-user-extras-00000001';
const PROVIDER_KEY = 'fake-extras-provider-key-0001';

// The keep-alive interval (10 s by default), read per stream.
process.env.PIAPI_SSE_PING_MS = '150';

describe('/v1/messages keep-alives and conversation log', () => {
  let fake: ProviderFake;
  let gw: TestGateway;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'piapi-conv-'));
    // 500 ms before the headers and between events: longer than the 150 ms ping interval.
    fake = await startAnthropicMessagesFake({ text: ['slow ', 'answer'], pace: { headersDelayMs: 500, delayMs: 400 } });
    gw = await startTestGateway(`
logging: { conversation: true, conversationFile: ${join(dir, 'conv.jsonl')}, maxQueueSize: 100 }
providers:
  - name: p
    apiKeys: { k: ${PROVIDER_KEY} }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: ${fake.url}, defaultModel: m }
users:
  - { name: u, apiKey: ${USER_KEY}, providerName: p, providerKeyName: k }
`);
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a silent stream alive: SSE comments before message_start, ping events after it', async () => {
    const res = await request(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': USER_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await res.body.text();
    const start = text.indexOf('event: message_start');
    expect(text.slice(0, start)).toContain(': ping');
    expect(text.slice(start)).toContain('event: ping\ndata: {"type":"ping"}');
    expect(text).toContain('event: message_stop');
  });

  it('lets the official SDK parse a stream with keep-alives', async () => {
    const client = new Anthropic({ apiKey: USER_KEY, baseURL: gw.url, maxRetries: 0 });
    const message = await client.messages.stream({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    expect(message.content.map((b) => (b.type === 'text' ? b.text : '')).join('')).toBe('slow answer');
  });

  it('writes request/response pairs to the conversation log, without the provider key', async () => {
    const file = join(dir, 'conv.jsonl');
    await eventually(async () => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).length >= 2);
    const text = await readFile(file, 'utf8');
    const entries = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries[0]).toMatchObject({ user: 'u', provider: 'p', request: { max_tokens: 10 }, response: { type: 'message', content: [{ type: 'text', text: 'slow answer' }] } });
    expect(text).not.toContain(PROVIDER_KEY);
    expect(text).not.toContain(USER_KEY);
  });
});
