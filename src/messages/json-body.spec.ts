import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { brotliCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/gateway-error.js';
import { MAX_JSON_DEPTH, nestedDeeperThan, readJsonBody } from './json-body.js';

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

describe('nestedDeeperThan', () => {
  it('measures objects and arrays alike and ignores scalars', () => {
    expect(nestedDeeperThan('text', 0)).toBe(false);
    expect(nestedDeeperThan({}, 0)).toBe(true);
    expect(nestedDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: [{ b: {} }] }, 3)).toBe(true);
  });
});
