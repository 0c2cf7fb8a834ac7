import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { brotliCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/gateway-error.js';
import { MAX_JSON_DEPTH, fitsDepth, nestedDeeperThan, readJsonBody } from './json-body.js';
import { RepeatedMemberParser } from './repeated-members.js';

function fakeRequest(body: Buffer | string, headers: Record<string, string> = {}): IncomingMessage {
  return Object.assign(Readable.from([Buffer.from(body)]), { headers }) as unknown as IncomingMessage;
}

describe('readJsonBody', () => {
  it('reads a brotli-compressed body', async () => {
    const req = fakeRequest(brotliCompressSync('{"a":1}'), { 'content-encoding': 'br' });
    await expect(readJsonBody(req, 1024)).resolves.toEqual({ a: 1 });
  });

  it(`accepts ${MAX_JSON_DEPTH} levels of nesting and refuses one more with a 400`, async () => {
    const ok = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
    await expect(readJsonBody(fakeRequest(ok), 1 << 20)).resolves.toBeDefined();
    const deep = `{"a":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`;
    const error = await readJsonBody(fakeRequest(deep), 1 << 20).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(400);
    expect((error as GatewayError).message).toMatch(/nested too deeply/);
  });
});

describe('readJsonBody with repeated members', () => {
  const tools = (depth: number) => `[${'['.repeat(depth)}${']'.repeat(depth)},"${'x'.repeat(3000)}"]`;

  it('refuses a member nested too deeply every time, never reusing it', async () => {
    const members = new RepeatedMemberParser(new Set(['tools']), fitsDepth);
    const deep = `{"model":"m","tools":${tools(MAX_JSON_DEPTH)}}`;
    for (let i = 0; i < 2; i++) {
      const error = await readJsonBody(fakeRequest(deep), 1 << 20, members).catch((e: unknown) => e);
      expect((error as GatewayError).message).toMatch(/nested too deeply/);
    }
  });

  it('reuses a member within the limit, and reads the same value as without the parser', async () => {
    const members = new RepeatedMemberParser(new Set(['tools']), fitsDepth);
    const body = `\ufeff{"model":"m","tools":${tools(MAX_JSON_DEPTH - 2)}}`;
    const first = (await readJsonBody(fakeRequest(body), 1 << 20, members)) as { tools: unknown };
    const second = (await readJsonBody(fakeRequest(body), 1 << 20, members)) as { tools: unknown };
    expect(second.tools).toBe(first.tools);
    expect(second).toEqual(await readJsonBody(fakeRequest(body), 1 << 20));
  });

  it('still refuses invalid UTF-8 and malformed JSON with the usual messages', async () => {
    const members = new RepeatedMemberParser(new Set(['tools']), fitsDepth);
    const invalid = Buffer.concat([Buffer.from('{"tools":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    await expect(readJsonBody(fakeRequest(invalid), 1 << 20, members)).rejects.toThrow(/not valid UTF-8/);
    const malformed = '{"model":"m","tools":[1,2,}';
    const expected = await readJsonBody(fakeRequest(malformed), 1 << 20).catch((e: unknown) => (e as Error).message);
    await expect(readJsonBody(fakeRequest(malformed), 1 << 20, members)).rejects.toThrow(expected);
  });
});

describe('nestedDeeperThan', () => {
  it('measures objects and arrays alike and ignores scalars', () => {
    expect(nestedDeeperThan('text', 0)).toBe(false);
    expect(nestedDeeperThan({}, 0)).toBe(true);
    expect(nestedDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: [{ b: {} }] }, 3)).toBe(true);
  });
});
