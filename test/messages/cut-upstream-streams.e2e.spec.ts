import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChatCompletionsFake } from '../fakes/chat-completions.fake.js';
import type { FakeScript, FakeTurn } from '../fakes/fake-turn.js';
import { startGeminiFake } from '../fakes/gemini.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

/**
 * Issue 16: an upstream stream that fails or is cut after some text reaches the client as an
 * error (a 502 before the response head, the route's error event after it), never as a
 * complete answer with the text it had so far.
 */

const USER_KEY = 'piapi-user-cut-streams-0001';
const PARTIAL = 'Partial answer';

interface Upstream {
  name: string;
  llm: (fake: ProviderFake) => string;
  start: (script: FakeScript) => Promise<ProviderFake>;
  /** Each way this upstream's stream goes wrong after sending PARTIAL, by the marker that asks for it. */
  cuts: Array<{ marker: string; what: string; turn: FakeTurn }>;
}

const rest = ['Partial', ' answer', ', and the rest of it.'];

const UPSTREAMS: Upstream[] = [
  {
    name: 'Gemini (google-generative-ai)',
    llm: (fake) => `{ provider: google, api: google-generative-ai, baseUrl: ${fake.url}/v1beta, defaultModel: gemini-2.5-flash }`,
    start: startGeminiFake,
    cuts: [
      // How Gemini fails an answer midway: `data: {"error":{"code":500,…}}`, then the end of the body.
      { marker: 'please-error-chunk', what: 'an error chunk after some text', turn: { text: rest.slice(0, 2), streamError: { message: 'Internal error encountered.' } } },
      { marker: 'please-end-early', what: 'a stream ended before a chunk with finishReason', turn: { text: rest, fault: { kind: 'end', afterEvents: 2 } } },
    ],
  },
  {
    // pi-ai's google-vertex provider reads Gemini's wire through @google/genai (an API key: Vertex's express mode).
    name: 'Vertex AI (google-vertex)',
    llm: (fake) => `{ provider: google-vertex, api: google-vertex, baseUrl: ${fake.url}/v1, defaultModel: gemini-2.5-flash }`,
    start: startGeminiFake,
    cuts: [
      { marker: 'please-error-chunk', what: 'an error chunk after some text', turn: { text: rest.slice(0, 2), streamError: { message: 'Internal error encountered.' } } },
      { marker: 'please-end-early', what: 'a stream ended before a chunk with finishReason', turn: { text: rest, fault: { kind: 'end', afterEvents: 2 } } },
    ],
  },
  {
    name: 'chat completions (openai-completions)',
    llm: (fake) => `{ provider: openai, api: openai-completions, baseUrl: ${fake.url}/v1, defaultModel: gpt-4o }`,
    start: startChatCompletionsFake,
    cuts: [
      // The role chunk and two text chunks, then the connection closes inside the chunked body.
      { marker: 'please-close-early', what: 'a connection closed before the chunk with finish_reason', turn: { text: rest, fault: { kind: 'close', afterEvents: 3 } } },
      // The same, but the chunked body ends cleanly: only the missing finish_reason and [DONE] tell.
      { marker: 'please-end-early', what: 'a body ended cleanly before the chunk with finish_reason', turn: { text: rest, fault: { kind: 'end', afterEvents: 3 } } },
    ],
  },
];

describe.each(UPSTREAMS)('a $name stream that goes wrong after some text', (upstream) => {
  let fake: ProviderFake;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await upstream.start((req) => upstream.cuts.find((c) => req.text().includes(c.marker))?.turn ?? { text: ['ok'] });
    gw = await startTestGateway(`
providers:
  - name: target
    apiKeys: { main: upstream-key-cut-streams-0001 }
    llm: ${upstream.llm(fake)}
users:
  - { name: cat, apiKey: ${USER_KEY}, providerName: target, providerKeyName: main }
`);
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });

  const post = async (path: string, body: Record<string, unknown>) => {
    const res = await request(`${gw.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${USER_KEY}`, 'x-api-key': USER_KEY, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  const messages = (marker: string, stream: boolean) => post('/v1/messages', { model: 'm', max_tokens: 100, stream, messages: [{ role: 'user', content: marker }] });
  const responses = (marker: string, stream: boolean) => post('/v1/responses', { model: 'm', input: marker, stream });

  it('answers a complete turn on both routes (the fake and the gateway work)', async () => {
    expect(JSON.parse((await messages('hi', false)).text)).toMatchObject({ content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn' });
    expect(JSON.parse((await responses('hi', false)).text)).toMatchObject({ status: 'completed', output: [{ type: 'message', content: [{ text: 'ok' }] }] });
  });

  describe.each(upstream.cuts)('$what', ({ marker }) => {
    it('/v1/messages stream: the text so far, then an error event and no message_stop', async () => {
      const res = await messages(marker, true);
      expect(res.status).toBe(200);
      expect(res.text).toContain('"text":"Partial"');
      expect(lastFrame(res.text)).toMatchObject({ event: 'error', data: { type: 'error', error: { type: 'api_error' } } });
      expect(res.text).not.toContain('message_stop');
    });

    it('/v1/messages non-stream: a 502 api_error, not the partial message', async () => {
      const res = await messages(marker, false);
      expect(res.status).toBe(502);
      expect(JSON.parse(res.text)).toMatchObject({ type: 'error', error: { type: 'api_error' } });
      expect(res.text).not.toContain(PARTIAL);
    });

    it('/v1/responses stream: the text so far, then response.failed and no response.completed', async () => {
      const res = await responses(marker, true);
      expect(res.status).toBe(200);
      expect(res.text).toContain('response.output_text.delta');
      expect(lastFrame(res.text)).toMatchObject({ event: 'response.failed', data: { type: 'response.failed', response: { status: 'failed' } } });
      expect(res.text).not.toContain('response.completed');
    });

    it('/v1/responses non-stream: a 502 server_error, not the partial response', async () => {
      const res = await responses(marker, false);
      expect(res.status).toBe(502);
      expect(JSON.parse(res.text)).toMatchObject({ error: { type: 'server_error' } });
      expect(res.text).not.toContain(PARTIAL);
    });
  });
});

/** The last SSE frame of a body: its event name and parsed data. */
function lastFrame(sse: string): { event: string | undefined; data: unknown } {
  const lines = sse.trim().split('\n\n').at(-1)!.split('\n');
  const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
  const data = lines.find((l) => l.startsWith('data: '))!.slice(6);
  return { event, data: JSON.parse(data) };
}
