import { describe, expect, it } from 'vitest';
import { SkipMemo, skimResponseEvent } from './response-skim.js';

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
    const escapedKeys = '{"type":"x","k\\u00e9y\\"q":1,"response":{"id":"r","st\\u0061tus":"s","usage":{"a\\nb":2}}}';
    expect(skimResponseEvent(escapedKeys, FIELDS)).toEqual(expected(escapedKeys));
  });

  describe('with a SkipMemo', () => {
    const bigTools = (variant: string) =>
      Array.from({ length: 6 }, (_, i) => ({
        type: 'function',
        name: `tool_${i}`,
        description: `Tool ${i} ${variant} ${'does things; '.repeat(20)}`,
        parameters: { type: 'object', properties: { a: { type: 'string', enum: ['}', ']', '"'] } } },
      }));
    const event = (tools: unknown, id: string) =>
      JSON.stringify({ type: 'response.completed', response: { id, ...ECHO, tools, status: 'completed', usage: { input_tokens: 7 } } });

    it('steps over a value it saw before with one comparison, and reads the rest as JSON.parse does', () => {
      const memo = new SkipMemo();
      const first = event(bigTools('v1'), 'resp_a');
      expect(skimResponseEvent(first, FIELDS, memo)).toEqual(expected(first));
      const second = event(bigTools('v1'), 'resp_b');
      const at = second.indexOf('"tools":') + '"tools":'.length;
      expect(memo.skip(second, 'tools', at)).toBe(at + JSON.stringify(bigTools('v1')).length);
      expect(skimResponseEvent(second, FIELDS, memo)).toEqual(expected(second));
    });

    it('walks a changed value again, and remembers the new one', () => {
      const memo = new SkipMemo();
      skimResponseEvent(event(bigTools('v1'), 'r1'), FIELDS, memo);
      const changed = event(bigTools('v2'), 'r2');
      const at = changed.indexOf('"tools":') + '"tools":'.length;
      expect(memo.skip(changed, 'tools', at)).toBeUndefined();
      expect(skimResponseEvent(changed, FIELDS, memo)).toEqual(expected(changed));
      expect(memo.skip(changed, 'tools', at)).toBe(at + JSON.stringify(bigTools('v2')).length);
      // A longer list that starts like the remembered one is not mistaken for it.
      const longer = event([...bigTools('v2'), { type: 'function', name: 'extra' }], 'r3');
      expect(memo.skip(longer, 'tools', at)).toBeUndefined();
      expect(skimResponseEvent(longer, FIELDS, memo)).toEqual(expected(longer));
    });

    it('does not remember small values or strings, and still reads malformed text as undefined', () => {
      const memo = new SkipMemo();
      const small = event(ECHO.tools, 'r');
      skimResponseEvent(small, FIELDS, memo);
      const at = small.indexOf('"tools":') + '"tools":'.length;
      expect(memo.skip(small, 'tools', at)).toBeUndefined();
      const long = JSON.stringify({ type: 'x', response: { id: 'r', instructions: 'i'.repeat(5000) } });
      skimResponseEvent(long, FIELDS, memo);
      expect(memo.skip(long, 'instructions', long.indexOf('"iii'))).toBeUndefined();
      const good = event(bigTools('v3'), 'r4');
      skimResponseEvent(good, FIELDS, memo);
      expect(skimResponseEvent(good.slice(0, -2), FIELDS, memo)).toBeUndefined();
    });
  });
});
