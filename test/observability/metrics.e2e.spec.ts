import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { checkMetrics, ensurePromtool } from '../support/promtool.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';

const USER_KEY = 'piapi-user-erin-secret-5151';
const PROVIDER_KEY = 'sk-metrics-provider-secret-6161';

const ANTHROPIC_SSE = [
  { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, usage: { input_tokens: 11, output_tokens: 1, cache_read_input_tokens: 5, cache_creation_input_tokens: 3 } } },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
  { type: 'content_block_stop', index: 0 },
  { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 7 } },
  { type: 'message_stop' },
]
  .map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)
  .join('');

const RESPONSES_SSE = [
  { type: 'response.created', response: { id: 'resp_1', model: 'gpt-test', status: 'in_progress' } },
  { type: 'response.output_text.delta', delta: 'hi' },
  { type: 'response.completed', response: { id: 'resp_1', model: 'gpt-test', status: 'completed', usage: { input_tokens: 20, input_tokens_details: { cached_tokens: 4 }, output_tokens: 9, total_tokens: 29 } } },
]
  .map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)
  .join('');

const CHAT_SSE =
  [
    { object: 'chat.completion.chunk', model: 'chat-test', choices: [{ index: 0, delta: { content: 'hi' } }] },
    { object: 'chat.completion.chunk', model: 'chat-test', choices: [], usage: { prompt_tokens: 13, completion_tokens: 2, total_tokens: 15 } },
  ]
    .map((e) => `data: ${JSON.stringify(e)}\n\n`)
    .join('') + 'data: [DONE]\n\n';

function metricValue(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('/metrics', () => {
  let upstream: RecordingUpstream;
  let gw: TestGateway;
  let promtool: string;
  const scrape = async () => (await request(`${gw.url}/metrics`)).body.text();

  beforeAll(async () => {
    promtool = ensurePromtool();
    upstream = await startRecordingUpstream((req, res) => {
      const path = req.url ?? '';
      if (path.includes('anthropic')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        // Split mid-event: the usage reader must join chunks.
        const cut = ANTHROPIC_SSE.length >> 1;
        res.write(ANTHROPIC_SSE.slice(0, cut));
        setTimeout(() => res.end(ANTHROPIC_SSE.slice(cut)), 10);
      } else if (path.includes('responses')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(RESPONSES_SSE);
      } else if (path.includes('chat')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(CHAT_SSE);
      } else if (path.includes('json')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'msg_2', type: 'message', model: 'claude-json', content: [], usage: { input_tokens: 100, output_tokens: 50 } }));
      } else if (path.includes('limited')) {
        res.writeHead(429, { 'content-type': 'application/json' });
        res.end('{"error":"slow down"}');
      } else {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"error":"down"}');
      }
    });
    gw = await startTestGateway(`
providers:
  - name: prov-m
    apiKeys: { k: ${PROVIDER_KEY} }
    services: [{ type: cc, baseUrl: ${upstream.url} }, { type: cx, baseUrl: ${upstream.url} }]
users:
  - { name: erin, apiKey: ${USER_KEY}, providerName: prov-m, providerKeyName: k }
`);
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });

  const call = async (path: string) => {
    const res = await request(`${gw.url}${path}`, { method: 'POST', headers: { 'x-api-key': USER_KEY }, body: '{}' });
    await res.body.text();
    return res.statusCode;
  };

  it('counts tokens from pass-through Anthropic, Responses and chat completions streams and JSON bodies', async () => {
    await call('/piapi/cc/anthropic');
    await call('/piapi/cx/responses');
    await call('/piapi/cx/chat');
    await call('/piapi/cc/json');
    let text = '';
    await eventually(async () => {
      text = await scrape();
      return metricValue(text, 'piapi_tokens_total', { model: 'claude-json', type: 'output' }) === 50;
    });
    const t = (model: string, type: string) => metricValue(text, 'piapi_tokens_total', { user: 'erin', provider: 'prov-m', model, type });
    expect([t('claude-test', 'input'), t('claude-test', 'output'), t('claude-test', 'cache_read'), t('claude-test', 'cache_write')]).toEqual([11, 7, 5, 3]);
    expect([t('gpt-test', 'input'), t('gpt-test', 'output'), t('gpt-test', 'cache_read')]).toEqual([16, 9, 4]);
    expect([t('chat-test', 'input'), t('chat-test', 'output')]).toEqual([13, 2]);
    expect(t('claude-json', 'input')).toBe(100);
  });

  it('counts requests by service type and status class, and upstream 5xx and 429 by reason', async () => {
    const before = await scrape();
    expect(await call('/piapi/cx/down')).toBe(503);
    expect(await call('/piapi/cx/limited')).toBe(429);
    expect(await call('/piapi/not-a-type/x')).toBe(404);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => metricValue(after, name, labels) - metricValue(before, name, labels);
    expect(delta('piapi_requests_total', { service_type: 'cx', status_class: '5xx' })).toBe(1);
    expect(delta('piapi_requests_total', { service_type: 'cx', status_class: '4xx' })).toBe(1);
    expect(delta('piapi_requests_total', { service_type: 'unknown', status_class: '4xx' })).toBe(1);
    expect(delta('piapi_upstream_errors_total', { service_type: 'cx', provider: 'prov-m', reason: '5xx' })).toBe(1);
    expect(delta('piapi_upstream_errors_total', { service_type: 'cx', provider: 'prov-m', reason: '429' })).toBe(1);
    expect(metricValue(after, 'piapi_request_latency_seconds_count', { service_type: 'cx' })).toBeGreaterThan(0);
    expect(metricValue(after, 'piapi_stream_first_byte_seconds_count', { service_type: 'cc' })).toBeGreaterThan(0);
    expect(after).toMatch(/piapi_inflight_requests\{service_type="cx"\} 0/);
  });

  it('counts config reloads by result and shows the running config hash', async () => {
    const before = await scrape();
    const good = await readFile(gw.configPath, 'utf8');
    await gw.writeConfig('providers: [');
    await eventually(async () => metricValue(await scrape(), 'piapi_config_reloads_total', { result: 'failure' }) > metricValue(before, 'piapi_config_reloads_total', { result: 'failure' }));
    await gw.writeConfig(`${good}\n# changed\n`);
    await eventually(async () => (await scrape()).includes(`piapi_config_info{hash="${gw.store.current.hash}"} 1`) && !before.includes(gw.store.current.hash));
    const after = await scrape();
    expect(after.match(/^piapi_config_info\{/gm)).toHaveLength(1);
    expect(metricValue(after, 'piapi_config_reloads_total', { result: 'success' })).toBeGreaterThan(metricValue(before, 'piapi_config_reloads_total', { result: 'success' }));
  });

  it('passes promtool check metrics and holds no secret', async () => {
    await call('/piapi/cc/anthropic');
    const text = await scrape();
    expect(text).toContain('process_cpu_seconds_total');
    expect(checkMetrics(promtool, text)).toBe('');
    expect(text).not.toContain(USER_KEY);
    expect(text).not.toContain(PROVIDER_KEY);
  });
});
