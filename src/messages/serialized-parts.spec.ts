import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SerializedPartCache, encodeBody } from './serialized-parts.js';

const schema = () => ({ type: 'object', properties: { city: { type: 'string', enum: ['a', 'b'] }, n: { type: 'number' } }, required: ['city'] });

describe('SerializedPartCache', () => {
  it('builds once for equal keys and gives the same encoding back', () => {
    let builds = 0;
    const cache = new SerializedPartCache(isDeepStrictEqual, (key: unknown) => {
      builds++;
      return { wrapped: key };
    });
    const first = cache.get(schema());
    const second = cache.get(schema());
    expect(builds).toBe(1);
    expect(second).toBe(first);
    expect(JSON.parse(first.json.toString())).toEqual({ wrapped: schema() });
  });

  it('builds again for a changed key, and keeps the last eight distinct keys', () => {
    let builds = 0;
    const cache = new SerializedPartCache<string, string>((a, b) => a === b, (key) => {
      builds++;
      return `${key}✓`;
    });
    for (let i = 0; i < 8; i++) cache.get(`k${i}`);
    expect(builds).toBe(8);
    cache.get('k0'); // moves to the front
    cache.get('k8'); // evicts k1, the least recently used
    expect(builds).toBe(9);
    cache.get('k0');
    expect(builds).toBe(9);
    cache.get('k1');
    expect(builds).toBe(10);
    expect(cache.get('k1').json.toString()).toBe('"k1✓"');
  });
});

describe('encodeBody', () => {
  const toolsValue = [{ type: 'function', name: 'x', description: 'Wetter ☀', parameters: schema() }];
  const parts = {
    tools: { value: toolsValue, json: Buffer.from(JSON.stringify(toolsValue)) },
    instructions: { value: 'Réponds ✓', json: Buffer.from(JSON.stringify('Réponds ✓')) },
  };

  it('is the same JSON as JSON.stringify, with the parts spliced in', () => {
    const body = { model: 'm', instructions: parts.instructions.value, input: [{ text: 'é "q" \n' }], tools: toolsValue, stream: true };
    const encoded = encodeBody(body, parts);
    expect(JSON.parse(encoded.toString('utf8'))).toEqual(body);
    expect(encoded.length).toBe(Buffer.byteLength(JSON.stringify(body)));
  });

  it('serializes a member again when it is not the cached value (an onPayload hook replaced it)', () => {
    const replaced = [{ ...toolsValue[0], name: 'y' }];
    const body = { model: 'm', tools: replaced, instructions: 'other' };
    expect(JSON.parse(encodeBody(body, parts).toString())).toEqual(body);
  });

  it('writes a body made only of parts, and one with no part at all', () => {
    const onlyParts = { tools: toolsValue, instructions: parts.instructions.value };
    expect(JSON.parse(encodeBody(onlyParts, parts).toString())).toEqual(onlyParts);
    expect(encodeBody({ a: 1, skipped: undefined }, parts).toString()).toBe('{"a":1}');
    expect(encodeBody({}, parts).toString()).toBe('{}');
  });
});
