import { afterEach, describe, expect, it } from 'vitest';
import { startGeminiFake } from './gemini.fake.js';
import type { ProviderFake } from './provider-fake.js';

const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
const headers = { 'x-goog-api-key': 'AIza-fake', 'content-type': 'application/json' };

describe('startGeminiFake on the wire', () => {
  let fake: ProviderFake | undefined;
  afterEach(() => fake?.close());

  it('streams data-only chunks, thoughts flagged, the finish reason and usage on the last one', async () => {
    fake = await startGeminiFake({ reasoning: ['hmm'], text: ['Hel', 'lo'], usage: { inputTokens: 4, cacheReadTokens: 6, outputTokens: 9, reasoningTokens: 2 } });
    const res = await fetch(`${fake.url}/v1beta/models/gemini-x:streamGenerateContent?alt=sse`, { method: 'POST', headers, body });
    const text = await res.text();
    expect(text).not.toContain('event:');
    expect(text).not.toContain('[DONE]');
    const chunks = text.trim().split('\n\n').map((frame) => JSON.parse(frame.replace(/^data: /, '')));
    expect(chunks.map((c) => c.candidates[0].content.parts[0])).toEqual([{ text: 'hmm', thought: true }, { text: 'Hel' }, { text: 'lo' }]);
    expect(chunks.at(-1)).toMatchObject({
      candidates: [{ finishReason: 'STOP' }],
      usageMetadata: { promptTokenCount: 10, cachedContentTokenCount: 6, candidatesTokenCount: 7, thoughtsTokenCount: 2, totalTokenCount: 19 },
      modelVersion: 'gemini-x',
    });
  });

  it('sends a tool call whole, its args an object', async () => {
    fake = await startGeminiFake({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    const res = await fetch(`${fake.url}/v1beta/models/gemini-x:generateContent`, { method: 'POST', headers, body });
    expect(await res.json()).toMatchObject({
      candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }] }, finishReason: 'STOP' }],
    });
  });

  it('refuses a request without a key, and a stream without alt=sse, as Google does', async () => {
    fake = await startGeminiFake({ text: ['x'] });
    const keyless = await fetch(`${fake.url}/v1beta/models/m:generateContent`, { method: 'POST', body });
    expect(keyless.status).toBe(403);
    expect(await keyless.json()).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
    const noSse = await fetch(`${fake.url}/v1beta/models/m:streamGenerateContent`, { method: 'POST', headers, body });
    expect(noSse.status).toBe(400);
  });

  it('answers HTTP errors with Google error bodies', async () => {
    fake = await startGeminiFake({ httpError: { status: 429, message: 'Resource has been exhausted (e.g. check quota).' } });
    const res = await fetch(`${fake.url}/v1beta/models/m:generateContent`, { method: 'POST', headers, body });
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } });
  });
});
