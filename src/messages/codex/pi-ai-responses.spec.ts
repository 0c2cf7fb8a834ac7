import { describe, expect, it } from 'vitest';
import { convertResponsesMessages, convertResponsesTools, processResponsesStream } from './pi-ai-responses.js';

describe('pi-ai Responses internals', () => {
  it('loads convertResponsesMessages, convertResponsesTools and processResponsesStream from pi-ai', () => {
    expect(typeof convertResponsesMessages).toBe('function');
    expect(typeof convertResponsesTools).toBe('function');
    expect(typeof processResponsesStream).toBe('function');
  });

  it('converts a tool to a Responses function tool with the strictness asked for', () => {
    const parameters = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const tools = convertResponsesTools([{ name: 'get_weather', description: 'Weather for a city', parameters }], { strict: null });
    expect(tools).toEqual([{ type: 'function', name: 'get_weather', description: 'Weather for a city', parameters, strict: null }]);
  });
});
