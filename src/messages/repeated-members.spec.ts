import { describe, expect, it } from 'vitest';
import { RepeatedMemberParser } from './repeated-members.js';

const KEYS: ReadonlySet<string> = new Set(['tools', 'system']);
const buf = (text: string) => Buffer.from(text);

const tool = (i: number, note = '') => ({
  name: `tool_${i}`,
  description: `Does thing ${i}${note}: "quoted", back\\slash \\" ✓ 日本 ${'more words '.repeat(30)}`,
  input_schema: { type: 'object', properties: { a: { type: 'string', enum: ['}', ']', '"', '\\'] }, n: { type: 'number' } }, required: ['a'] },
});
const tools = (note = '') => Array.from({ length: 8 }, (_, i) => tool(i, note));
const system = [{ type: 'text', text: `You are an agent.\n${'Be careful. '.repeat(300)}`, cache_control: { type: 'ephemeral' } }];

function body(messages: unknown[], extra: Record<string, unknown> = {}, indent?: number): string {
  return JSON.stringify({ model: 'claude-x', messages, system, tools: tools(), max_tokens: 100, stream: true, ...extra }, null, indent);
}

describe('RepeatedMemberParser', () => {
  it('gives what JSON.parse gives, whatever the spacing, escapes and member order', () => {
    const parser = new RepeatedMemberParser(KEYS);
    const messages = [{ role: 'user', content: 'hi "there" \\ \n ✓ {[' }, { role: 'assistant', content: [{ type: 'text', text: '}]' }] }];
    const texts = [
      body(messages),
      body(messages, {}, 2),
      body(messages, { metadata: { user_id: '{"session_id":"s"}' }, temperature: 0.5, n: -1.5e-3, flag: false, none: null }),
      JSON.stringify({ tools: tools(), model: 'm', system: 'plain string system prompt '.repeat(100), messages }),
      ` \n{ "model" : "m" , "tools" :\t${JSON.stringify(tools())} , "messages" : [ ] } \n`,
    ];
    for (let round = 0; round < 2; round++) {
      for (const text of texts) expect(parser.parse(buf(text))).toEqual(JSON.parse(text));
    }
  });

  it('leaves a body larger than its limit to JSON.parse, and still reuses members of smaller ones', () => {
    const parser = new RepeatedMemberParser(KEYS, () => true, 2048, 8, 64 * 1024);
    const small = body([{ role: 'user', content: 'hi' }]);
    const large = body([{ role: 'user', content: 'x'.repeat(64 * 1024) }]);
    expect(parser.parse(buf(large))).toBeUndefined();
    const first = parser.parse(buf(small));
    expect(first).toEqual(JSON.parse(small));
    expect(parser.parse(buf(large))).toBeUndefined();
    expect(parser.parse(buf(small))?.tools).toBe(first?.tools);
  });

  it('reuses the parsed value of a member whose bytes it has seen, frozen, and parses the others afresh', () => {
    const parser = new RepeatedMemberParser(KEYS);
    const first = parser.parse(buf(body([{ role: 'user', content: 'one' }])));
    const second = parser.parse(buf(body([{ role: 'user', content: 'two' }])));
    expect(second?.tools).toBe(first?.tools);
    expect(second?.system).toBe(first?.system);
    expect(Object.isFrozen(second?.tools)).toBe(true);
    expect(Object.isFrozen((second?.tools as { input_schema: object }[])[3].input_schema)).toBe(true);
    expect(second?.messages).toEqual([{ role: 'user', content: 'two' }]);
    expect(Object.isFrozen(second?.messages)).toBe(false);
    expect(() => ((second?.tools as { name: string }[])[0].name = 'changed')).toThrow(TypeError);
  });

  it('parses a changed member again, and keeps both versions', () => {
    const parser = new RepeatedMemberParser(KEYS);
    const a = parser.parse(buf(body([])));
    const changedText = body([], { tools: tools('!') });
    const changed = parser.parse(buf(changedText));
    expect(changed?.tools).not.toBe(a?.tools);
    expect(changed).toEqual(JSON.parse(changedText));
    expect(parser.parse(buf(body([])))?.tools).toBe(a?.tools);
    expect(parser.parse(buf(changedText))?.tools).toBe(changed?.tools);
  });

  it('does not mistake a longer number that starts like a known one for it (numbers are never reused)', () => {
    const parser = new RepeatedMemberParser(new Set(['tools']), () => true, 16);
    const numberText = `{"tools":${'1'.repeat(20)},"a":1}`;
    parser.parse(buf(numberText));
    const longerNumber = `{"tools":${'1'.repeat(25)},"a":1}`;
    expect(parser.parse(buf(longerNumber))).toEqual(JSON.parse(longerNumber));
  });

  it('keeps small members and values it is told not to reuse out of the cache', () => {
    const parser = new RepeatedMemberParser(KEYS, (value) => JSON.stringify(value).includes('cache_control')); // system only
    const text = body([]);
    expect(parser.parse(buf(text))?.tools).not.toBe(parser.parse(buf(text))?.tools);
    expect(parser.parse(buf(text))?.system).toBe(parser.parse(buf(text))?.system);
    const small = '{"tools":[1,2,3],"system":"short"}';
    expect(parser.parse(buf(small))?.tools).not.toBe(parser.parse(buf(small))?.tools);
  });

  it('reads __proto__ and repeated keys as JSON.parse does', () => {
    const parser = new RepeatedMemberParser(KEYS);
    const text = '{"__proto__":{"polluted":true},"a":1,"a":2,"tools":[1],"tools":[2]}';
    const parsed = parser.parse(buf(text));
    expect(parsed).toEqual(JSON.parse(text));
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    expect(Object.keys(parsed ?? {})).toEqual(Object.keys(JSON.parse(text) as object));
  });

  it('gives up (undefined) on anything but one well-formed object, so the caller parses it whole', () => {
    const parser = new RepeatedMemberParser(KEYS);
    parser.parse(buf(body([])));
    const toolsText = JSON.stringify(tools());
    for (const bad of [
      '',
      '[]',
      '{}',
      '"text"',
      '{"a":1} trailing',
      '{"a" 1}',
      '{"a":1,}',
      '{"a":tru}',
      '{"a":"unterminated}',
      `{"tools":${toolsText}`,
      `{"tools":${toolsText} "a":1}`,
      `{"tools":${toolsText.slice(0, -1)}`,
      '{a:1}',
    ]) {
      expect(parser.parse(buf(bad))).toBeUndefined();
    }
  });
});
