import { describe, expect, it } from 'vitest';
import { skimResponseEvent } from './response-skim.js';

const FIELDS: ReadonlySet<string> = new Set(['id', 'status', 'usage']);

/** What skimResponseEvent must return: JSON.parse's event with only the chosen response fields. */
function expected(json: string): Record<string, unknown> {
  const event = JSON.parse(json) as Record<string, unknown>;
  const response = event.response as Record<string, unknown>;
  return { ...event, response: Object.fromEntries(Object.entries(response).filter(([key]) => FIELDS.has(key))) };
}

const ECHO = {
  instructions: 'Line one\nwith "quotes", a backslash \\ and \\" sequences, braces } ] { [ and ✓ 日本',
  tools: [
    { type: 'function', name: 'Bash', description: 'Run "it" \\', parameters: { type: 'object', properties: { c: { type: 'string', enum: ['}', ']'] } } } },
    { type: 'function', name: 'Empty', parameters: {}, strict: null },
  ],
  output: [{ type: 'message', content: [{ type: 'output_text', text: 'a\\"b', annotations: [] }] }],
  metadata: {},
  temperature: 1.5e-3,
  background: false,
  previous_response_id: null,
};

describe('skimResponseEvent', () => {
  it('reads the chosen response fields and the top-level ones, stepping over the echoed request', () => {
    const json = JSON.stringify({
      type: 'response.completed',
      sequence_number: 41,
      response: { id: 'resp_1', ...ECHO, status: 'completed', usage: { input_tokens: 12, output_tokens: 3, input_tokens_details: { cached_tokens: 2 } } },
    });
    expect(skimResponseEvent(json, FIELDS)).toEqual(expected(json));
  });

  it('gives the same fields as JSON.parse whatever the field order and spacing', () => {
    const response = { id: 'resp_2', ...ECHO, status: 'incomplete', usage: { input_tokens: 1 } };
    const keys = Object.keys(response);
    for (let shift = 0; shift < keys.length; shift++) {
      const rotated = Object.fromEntries([...keys.slice(shift), ...keys.slice(0, shift)].map((k) => [k, response[k as keyof typeof response]]));
      for (const json of [JSON.stringify({ type: 'response.created', response: rotated }), JSON.stringify({ response: rotated, type: 'x' }, null, 2)]) {
        expect(skimResponseEvent(json, FIELDS)).toEqual(expected(json));
      }
    }
  });

  it('keeps reading ASCII fields right from text decoded as latin1', () => {
    const json = JSON.stringify({ type: 'response.created', response: { ...ECHO, id: 'resp_3', status: 'in_progress' } });
    const latin1 = Buffer.from(json).toString('latin1');
    expect(skimResponseEvent(latin1, FIELDS)).toEqual({ type: 'response.created', response: { id: 'resp_3', status: 'in_progress' } });
  });

  it('gives up (undefined) on text that is not one JSON object, so the caller parses it whole', () => {
    for (const bad of [
      '',
      '[]',
      '{"type":"x","response":{"id":"r"',
      '{"type":"x","response":{"id":"r","instructions":"unterminated}}',
      '{"type":"x"} trailing',
      '{"type" "x"}',
      '{"type":"x",}',
      '{"response":{"id":"r" "status":"s"}}',
    ]) {
      expect(skimResponseEvent(bad, FIELDS)).toBeUndefined();
    }
  });

  it('reads an event without a response object like JSON.parse does', () => {
    expect(skimResponseEvent('{"type":"response.created","sequence_number":0}', FIELDS)).toEqual({ type: 'response.created', sequence_number: 0 });
    expect(skimResponseEvent('{"type":"x","response":null}', FIELDS)).toEqual({ type: 'x', response: null });
  });
});
