import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PartialJsonScanner } from './partial-json-scanner.js';

function scan(chunks: string[]): { forwarded: string; scanner: PartialJsonScanner } {
  const scanner = new PartialJsonScanner();
  let forwarded = '';
  for (const chunk of chunks) forwarded += scanner.push(chunk);
  return { forwarded, scanner };
}

function finished(chunks: string[]): string {
  const { forwarded, scanner } = scan(chunks);
  return forwarded + scanner.completion();
}

/** Splits a string at the given cut points. */
function split(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const parts: string[] = [];
  let last = 0;
  for (const p of points) {
    parts.push(text.slice(last, p));
    last = p;
  }
  parts.push(text.slice(last));
  return parts;
}

describe('PartialJsonScanner', () => {
  it('forwards a valid object unchanged apart from whitespace', () => {
    const { forwarded, scanner } = scan(['{"a": [1, ', 'true, null], "b": "x"}']);
    expect(forwarded).toBe('{"a":[1,true,null],"b":"x"}');
    expect(scanner.complete).toBe(true);
  });

  it('holds back a key until its value starts', () => {
    expect(scan(['{"a":1,"command"', ':']).forwarded).toBe('{"a":1');
  });

  it('closes a string cut in the middle', () => {
    expect(finished(['{"command":"echo hel'])).toBe('{"command":"echo hel"}');
  });

  it('drops a dangling key when the stream ends after it', () => {
    expect(finished(['{"a":1,"b":'])).toBe('{"a":1}');
  });

  it('completes a number cut after its dot', () => {
    expect(finished(['{"a":[1.'])).toBe('{"a":[1.0]}');
  });

  it('completes a cut literal', () => {
    expect(finished(['{"a":tr'])).toBe('{"a":true}');
  });

  it('escapes a raw newline inside a string', () => {
    expect(JSON.parse(finished(['{"a":"x\ny"}']))).toEqual({ a: 'x\ny' });
  });

  it('reads an invalid escape as a literal backslash', () => {
    expect(JSON.parse(finished(['{"a":"it\\\'s"}']))).toEqual({ a: "it\\'s" });
  });

  it('stops at the first character that cannot be repaired', () => {
    const { forwarded, scanner } = scan(['{"a":1}', '}', 'x']);
    expect(forwarded).toBe('{"a":1}');
    expect(scanner.complete).toBe(true);
    const broken = scan(["{'a': 1}"]);
    expect(broken.scanner.broken).toBe(true);
    expect(broken.forwarded + broken.scanner.completion()).toBe('{}');
  });

  it('forwards nothing when the arguments are not an object', () => {
    const { forwarded, scanner } = scan(['[1,2]']);
    expect(forwarded).toBe('');
    expect(scanner.forwardedAny).toBe(false);
  });

  it('reproduces any JSON object however it is split', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.array(fc.nat()), (value, cuts) => {
        const text = JSON.stringify(value, null, 1);
        const { forwarded, scanner } = scan(split(text, cuts));
        expect(scanner.complete).toBe(true);
        expect(JSON.parse(forwarded)).toEqual(JSON.parse(text));
      }),
    );
  });

  it('completes any prefix of a JSON object into valid JSON', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.nat(), (value, cut) => {
        const text = JSON.stringify(value);
        const result = finished([text.slice(0, cut % (text.length + 1))]);
        if (result !== '') expect(typeof JSON.parse(result)).toBe('object');
      }),
    );
  });

  it('completes any garbage that starts like an object into valid JSON', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.array(fc.nat()), (garbage, cuts) => {
        const result = finished(split(`{${garbage}`, cuts));
        expect(typeof JSON.parse(result)).toBe('object');
      }),
      { numRuns: 500 },
    );
  });
});
