import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCompaction, SUMMARY_REQUEST, summaryHandoff } from '../../src/responses/compaction.js';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import { startChatCompletionsFake } from '../fakes/chat-completions.fake.js';
import type { FakeScript } from '../fakes/fake-turn.js';
import type { RecordedJson } from '../fakes/fake-upstream.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

// Codex's remote compaction (src/responses/compaction.ts) through the translation: the request
// Codex 0.169 sent on its built-in OpenAI provider, answered with one compaction item made by
// the target model, and that item carried into the next turn.

const USER_KEY = 'piapi-user-compaction-0001';
const SUMMARY = 'Notes: the parser is fixed; run the tests next.';

/** Codex's recorded compaction request: the history, then `{"type":"compaction_trigger"}`. */
const TRIGGER = (JSON.parse(readFileSync(new URL('../fixtures/codex/compaction-trigger.json', import.meta.url), 'utf8')) as { body: Record<string, unknown> }).body;

interface Target {
  name: string;
  start: (s: FakeScript) => Promise<ProviderFake>;
  llm: (fake: ProviderFake) => string;
}

const TARGETS: Target[] = [
  {
    name: 'anthropic-messages',
    start: startAnthropicMessagesFake,
    llm: (f) => `{ provider: anthropic, api: anthropic-messages, baseUrl: "${f.url}", defaultModel: claude-test }`,
  },
  {
    name: 'openai-completions',
    start: startChatCompletionsFake,
    llm: (f) => `{ provider: openai, api: openai-completions, baseUrl: "${f.url}/v1", defaultModel: gpt-test }`,
  },
];

function lastMessageText(body: RecordedJson): string {
  return JSON.stringify(body.messages.at(-1));
}

describe.each(TARGETS)('Codex remote compaction on /v1/responses → $name', (target) => {
  let fake: ProviderFake;
  let gw: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await target.start((req) => {
      const body = req.json<RecordedJson>();
      const last = lastMessageText(body);
      if (JSON.stringify(body.messages).includes('please-no-summary')) return { toolCalls: [{ name: 'exec_command', arguments: { cmd: 'ls' } }] };
      if (last.includes('Pause the task')) return { text: ['Notes: the parser ', 'is fixed; run the tests next.'], usage: { inputTokens: 700, outputTokens: 11 } };
      return { text: ['Continuing.'] };
    });
    gw = await startTestGateway(`
providers:
  - name: target
    apiKeys: { main: sk-upstream-compaction-01 }
    llm: ${target.llm(fake)}
users:
  - { name: rita, apiKey: ${USER_KEY}, providerName: target, providerKeyName: main }
`);
    client = new OpenAI({ apiKey: USER_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });

  it("streams exactly one compaction item for Codex's recorded trigger request, the summary the target wrote inside", async () => {
    const before = fake.requests.length;
    const stream = await client.responses.create({ ...TRIGGER, stream: true } as unknown as OpenAI.Responses.ResponseCreateParamsStreaming);
    const types: string[] = [];
    const done: Record<string, unknown>[] = [];
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_item.done') done.push(event.item as unknown as Record<string, unknown>);
    }
    expect(types).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.output_item.done', 'response.completed']);
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ type: 'compaction', id: expect.stringMatching(/^cmp_/) as unknown });
    expect(decodeCompaction(done[0].encrypted_content as string)).toBe(SUMMARY);

    const upstream = fake.requests.slice(before).map((r) => r.json<RecordedJson>());
    expect(upstream).toHaveLength(1);
    expect(lastMessageText(upstream[0])).toContain(SUMMARY_REQUEST);
    expect(JSON.stringify(upstream[0].messages)).toContain('answer 2');
    expect(upstream[0].tools.length, 'tools dropped: a history with tool calls would be refused').toBeGreaterThan(0);
  });

  it('answers a non-stream trigger with output [compaction] and usage, and gives the next turn the summary in its place', async () => {
    const response = await client.responses.create({ ...TRIGGER, stream: false } as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    expect(response.output.map((i) => i.type)).toEqual(['compaction']);
    expect(response.usage).toMatchObject({ output_tokens: 11 });
    const item = response.output[0] as unknown as { type: string; encrypted_content: string };

    const next = await client.responses.create({
      model: 'gpt-5.1-codex-mini',
      input: [{ type: 'message', role: 'user', content: 'fix the parser' }, item, { type: 'message', role: 'user', content: 'go on' }],
    } as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    expect(next.output_text).toBe('Continuing.');
    const sent = fake.requests.at(-1)!.json<RecordedJson>();
    expect(JSON.stringify(sent.messages)).toContain(JSON.stringify(summaryHandoff(SUMMARY)).slice(1, -1));
    expect(lastMessageText(sent)).toContain('go on');
  });

  it('fails a compaction the target answers without summary text with a 502 in OpenAI format and the request id', async () => {
    const res = await request(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${USER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5.1-codex-mini', input: [{ role: 'user', content: 'please-no-summary' }, { type: 'compaction_trigger' }], stream: true }),
    });
    const body = (await res.body.json()) as { error: Record<string, unknown>; request_id: string };
    expect(res.statusCode).toBe(502);
    expect(body.error).toMatchObject({ type: 'server_error', code: 'upstream_error', message: expect.stringMatching(/no summary/) as unknown });
    expect(body.request_id).toBe(res.headers['x-request-id']);
  });
});

describe('GET /v1/responses (the WebSocket Codex tries first on its OpenAI provider)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(`
providers:
  - name: target
    apiKeys: { main: sk-upstream-compaction-02 }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: "http://127.0.0.1:9", defaultModel: claude-test }
users:
  - { name: rita, apiKey: ${USER_KEY}, providerName: target, providerKeyName: main }
`);
  });
  afterAll(async () => {
    await gw.stop();
  });

  it('answers an upgrade request with 426 in OpenAI format, so Codex uses HTTP without reconnecting', async () => {
    // undici refuses to send an upgrade: node:http sends it as Codex's WebSocket client does.
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/v1/responses`, {
        headers: { authorization: `Bearer ${USER_KEY}`, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      });
      req.once('response', resolve).once('upgrade', () => reject(new Error('the gateway accepted the upgrade'))).once('error', reject);
      req.end();
    });
    let text = '';
    for await (const chunk of res) text += String(chunk);
    const body = JSON.parse(text) as { error: Record<string, unknown>; request_id: string };
    expect(res.statusCode).toBe(426);
    expect(body.error).toEqual({
      message: 'piapi serves the Responses API over HTTP only: POST /v1/responses',
      type: 'invalid_request_error',
      param: null,
      code: 'upgrade_required',
    });
    expect(body.request_id).toBe(res.headers['x-request-id']);
  });

  it('still asks for the key first', async () => {
    const res = await request(`${gw.url}/v1/responses`);
    await res.body.dump();
    expect(res.statusCode).toBe(401);
  });
});
