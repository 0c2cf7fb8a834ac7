import { describe, expect, it } from 'vitest';
import { requiresThoughtSignatures, STAND_IN_THOUGHT_SIGNATURE, withThoughtSignatures } from './thought-signatures.js';

const call = (name: string, thoughtSignature?: string) => ({ functionCall: { name, args: {} }, ...(thoughtSignature && { thoughtSignature }) });

describe('withThoughtSignatures', () => {
  it("signs the first function call of a model step that has none, and only that one (parallel calls share the step's)", () => {
    const contents = [{ role: 'user', parts: [{ text: 'hi' }] }, { role: 'model', parts: [{ text: 'Let me look.' }, call('a'), call('b')] }];
    expect(withThoughtSignatures(contents)).toEqual([contents[0], { role: 'model', parts: [{ text: 'Let me look.' }, call('a', STAND_IN_THOUGHT_SIGNATURE), call('b')] }]);
  });

  it('leaves steps that carry their signature, steps without calls and user contents as they are (the same objects)', () => {
    const contents = [
      { role: 'model', parts: [call('a', 'real-signature'), call('b')] },
      { role: 'model', parts: [{ text: 'done' }] },
      { role: 'user', parts: [{ functionResponse: { name: 'a', response: {} } }] },
    ];
    const out = withThoughtSignatures(contents);
    out.forEach((content, i) => expect(content).toBe(contents[i]));
  });
});

describe('requiresThoughtSignatures', () => {
  it('is Gemini 3, by id or by a path ending in it', () => {
    expect(['gemini-3-pro-preview', 'gemini-3-flash-preview', 'models/gemini-3-pro'].map(requiresThoughtSignatures)).toEqual([true, true, true]);
    expect(['gemini-2.5-flash', 'gemma-3-27b-it'].map(requiresThoughtSignatures)).toEqual([false, false]);
  });
});
