import { describe, expect, it } from 'vitest';
import { interpolateString, interpolateTree } from './env-interpolation.js';

const noMissing = (name: string) => {
  throw new Error(`unexpected missing variable ${name}`);
};

describe('interpolateString', () => {
  it('replaces ${VAR} with the variable', () => {
    expect(interpolateString('${HOST}', { HOST: 'api.example.com' }, noMissing)).toBe('api.example.com');
  });

  it('replaces every variable inside a longer string', () => {
    expect(interpolateString('https://${HOST}:${PORT}/v1', { HOST: 'h', PORT: '8443' }, noMissing)).toBe('https://h:8443/v1');
  });

  it('uses the default of ${VAR:-default} when the variable is unset', () => {
    expect(interpolateString('${PORT:-9200}', {}, noMissing)).toBe('9200');
  });

  it('uses the default of ${VAR:-default} when the variable is set but empty, like a shell', () => {
    expect(interpolateString('${PORT:-9200}', { PORT: '' }, noMissing)).toBe('9200');
  });

  it('prefers a set variable over its default', () => {
    expect(interpolateString('${PORT:-9200}', { PORT: '8080' }, noMissing)).toBe('8080');
  });

  it('allows an empty default', () => {
    expect(interpolateString('x${SUFFIX:-}', {}, noMissing)).toBe('x');
  });

  it('reads ${VAR} set to the empty string as empty, not as missing', () => {
    expect(interpolateString('a${EMPTY}b', { EMPTY: '' }, noMissing)).toBe('ab');
  });

  it('turns $${ into a literal ${', () => {
    expect(interpolateString('$${NOT_A_VAR}', {}, noMissing)).toBe('${NOT_A_VAR}');
  });

  it('reports an unset variable without a default and leaves its text as written', () => {
    const missing: string[] = [];
    expect(interpolateString('key-${SECRET}', {}, (name) => missing.push(name))).toBe('key-${SECRET}');
    expect(missing).toEqual(['SECRET']);
  });

  it('leaves strings without ${ alone', () => {
    expect(interpolateString('$HOME and {braces}', { HOME: '/root' }, noMissing)).toBe('$HOME and {braces}');
  });
});

describe('interpolateTree', () => {
  it('interpolates string values at any depth, in mappings and lists', () => {
    const tree = { a: '${X}', b: { c: ['${X}', { d: 'pre-${X}' }] } };
    expect(interpolateTree(tree, { X: 'v' }).value).toEqual({ a: 'v', b: { c: ['v', { d: 'pre-v' }] } });
  });

  it('leaves numbers, booleans and null as they are', () => {
    const tree = { n: 1, t: true, z: null, list: [2, false] };
    expect(interpolateTree(tree, {}).value).toEqual(tree);
  });

  it('does not interpolate keys', () => {
    expect(interpolateTree({ '${X}': 'y' }, { X: 'v' }).value).toEqual({ '${X}': 'y' });
  });

  it('names every unset variable with the path of its value', () => {
    const { issues } = interpolateTree({ providers: [{ apiKeys: { main: '${A}' } }], listen: '${B}' }, {});
    expect(issues).toEqual([
      { path: 'providers[0].apiKeys.main', message: 'environment variable A is not set (use ${A:-default} for a default)' },
      { path: 'listen', message: 'environment variable B is not set (use ${B:-default} for a default)' },
    ]);
  });

  it('keeps a key named __proto__ as a key instead of a prototype', () => {
    const tree = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
    const value = interpolateTree(tree, {}).value as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  });

  it('does not change the tree it is given', () => {
    const tree = { a: '${X}' };
    interpolateTree(tree, { X: 'v' });
    expect(tree).toEqual({ a: '${X}' });
  });
});
