import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ExpositionError, parseExposition } from './prometheus-text.js';

describe('parseExposition', () => {
  it('reads the samples prom-client writes, with their labels, and skips HELP and TYPE lines', async () => {
    const registry = new Registry();
    const gauge = new Gauge({ name: 'piapi_provider_key_cooldown_seconds', help: 'Seconds "until" free\nagain', labelNames: ['provider', 'key'], registers: [registry] });
    const counter = new Counter({ name: 'piapi_upstream_attempts_total', help: 'h', labelNames: ['key', 'outcome'], registers: [registry] });
    gauge.set({ provider: 'chatgpt', key: 'acct-1' }, 42.5);
    gauge.set({ provider: 'chatgpt', key: 'acct-2' }, 0);
    counter.inc({ key: 'acct-1', outcome: 'rate_limited' }, 3);
    new Gauge({ name: 'plain', help: 'no labels', registers: [registry] }).set(1e-7);

    expect(parseExposition(await registry.metrics())).toEqual([
      { name: 'piapi_provider_key_cooldown_seconds', labels: { provider: 'chatgpt', key: 'acct-1' }, value: 42.5 },
      { name: 'piapi_provider_key_cooldown_seconds', labels: { provider: 'chatgpt', key: 'acct-2' }, value: 0 },
      { name: 'piapi_upstream_attempts_total', labels: { key: 'acct-1', outcome: 'rate_limited' }, value: 3 },
      { name: 'plain', labels: {}, value: 1e-7 },
    ]);
  });

  it('unescapes backslash, double quote and line feed in label values, and keeps commas and braces in them', async () => {
    const registry = new Registry();
    new Gauge({ name: 'g', help: 'h', labelNames: ['v'], registers: [registry] }).set({ v: 'a\\b"c\nd,e}f{' }, 1);
    expect(parseExposition(await registry.metrics())).toEqual([{ name: 'g', labels: { v: 'a\\b"c\nd,e}f{' }, value: 1 }]);
  });

  it('accepts a trailing comma, blanks between labels and around the value, a timestamp, and the special values', () => {
    const text = ['  a{x="1",} 2 1700000000000', 'b{ x="1", y="2" }\t+Inf', 'c -Inf', 'd NaN', 'e 1.5e3', ''].join('\n');
    const samples = parseExposition(text);
    expect(samples.map((s) => [s.name, s.labels, s.value])).toEqual([
      ['a', { x: '1' }, 2],
      ['b', { x: '1', y: '2' }, Infinity],
      ['c', {}, -Infinity],
      ['d', {}, NaN],
      ['e', {}, 1500],
    ]);
  });

  it('refuses what is not a sample line, saying which line', () => {
    for (const bad of ['<html>', 'a{x="1"} ', 'a{x="1" 2', 'a{x=1} 2', 'a{x="\\q"} 2', 'a 2 3 4', 'a twelve', 'a{x="1"}2', 'a 1 later']) {
      expect(() => parseExposition(`# HELP a h\n${bad}`), bad).toThrow(ExpositionError);
      expect(() => parseExposition(`# HELP a h\n${bad}`), bad).toThrow(/^line 2 /);
    }
  });
});
