import { describe, expect, it } from 'vitest';
import { convertMessages, convertTools, isThinkingPart, retainThoughtSignature, sanitizeSurrogates } from './pi-ai-google.js';

describe('pi-ai Google internals', () => {
  it('loads convertMessages, convertTools, isThinkingPart, retainThoughtSignature and sanitizeSurrogates from pi-ai', () => {
    for (const fn of [convertMessages, convertTools, isThinkingPart, retainThoughtSignature, sanitizeSurrogates]) expect(typeof fn).toBe('function');
  });

  it('converts a tool to a function declaration with its JSON schema', () => {
    const parameters = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    expect(convertTools([{ name: 'get_weather', description: 'Weather for a city', parameters }])).toEqual([
      { functionDeclarations: [{ name: 'get_weather', description: 'Weather for a city', parametersJsonSchema: parameters }] },
    ]);
  });
});
