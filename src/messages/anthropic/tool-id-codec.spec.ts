import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeToolId, encodeToolId, isAnthropicToolId } from './tool-id-codec.js';

describe('tool id codec', () => {
  it('leaves an Anthropic id as it is', () => {
    expect(encodeToolId('toolu_01AbC-d_e')).toBe('toolu_01AbC-d_e');
  });

  it('encodes a Responses id into a valid Anthropic id', () => {
    const encoded = encodeToolId('call_abc|fc_123');
    expect(isAnthropicToolId(encoded)).toBe(true);
    expect(encoded).not.toBe('call_abc|fc_123');
  });

  it('decodes an encoded Responses id back to the original', () => {
    expect(decodeToolId(encodeToolId('call_abc|fc_123'))).toBe('call_abc|fc_123');
  });

  it('encodes an id that already looks encoded, so it decodes to itself', () => {
    const lookalike = encodeToolId('x|y');
    expect(decodeToolId(encodeToolId(lookalike))).toBe(lookalike);
  });

  it('leaves a prefixed id that is not a canonical encoding unchanged', () => {
    expect(decodeToolId('toolu_b64_!!')).toBe('toolu_b64_!!');
    expect(decodeToolId('toolu_b64_A')).toBe('toolu_b64_A');
  });

  it('round-trips any string through a valid Anthropic id', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (id) => {
        const encoded = encodeToolId(id);
        expect(isAnthropicToolId(encoded)).toBe(true);
        expect(decodeToolId(encoded)).toBe(id);
      }),
    );
  });
});
