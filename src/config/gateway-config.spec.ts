import { describe, expect, it } from 'vitest';
import { toYaml, validConfig } from '../../test/support/config-fixtures.js';
import { parseConfig } from './config-loader.js';
import { deepFreeze, type GatewayConfig } from './gateway-config.js';

function snapshot(): GatewayConfig {
  const config = validConfig();
  config.models = { 'claude-sonnet': { provider: 'provider-alpha', aliases: ['sonnet'] } };
  const result = parseConfig(toYaml(config), {});
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

// ES modules run in strict mode, where writing to a frozen object throws a TypeError.
describe('the config snapshot', () => {
  it('refuses changes to its top-level fields', () => {
    const config = snapshot();
    expect(() => ((config as { demo: boolean }).demo = true)).toThrow(TypeError);
    expect(() => delete (config as { listen?: string }).listen).toThrow(TypeError);
  });

  it('refuses changes to http settings', () => {
    const { http } = snapshot();
    expect(() => ((http as { maxBodyBytes: number }).maxBodyBytes = 1)).toThrow(TypeError);
  });

  it('refuses new users', () => {
    const config = snapshot();
    expect(() => (config.users as unknown[]).push(config.users[0])).toThrow(TypeError);
  });

  it("refuses changes to a user's provider key", () => {
    const [alice] = snapshot().users;
    expect(() => ((alice.key as { value: string }).value = 'sk-stolen')).toThrow(TypeError);
  });

  it('refuses new, replaced or removed providers in its map', () => {
    const config = snapshot();
    const providers = config.providers as Map<string, unknown>;
    expect(() => providers.set('provider-gamma', {})).toThrow(TypeError);
    expect(() => providers.delete('provider-alpha')).toThrow(TypeError);
    expect(() => providers.clear()).toThrow(TypeError);
    expect([...config.providers.keys()]).toEqual(['provider-alpha', 'provider-beta']);
  });

  it("refuses changes to a provider's keys and services", () => {
    const alpha = snapshot().providers.get('provider-alpha')!;
    expect(() => (alpha.apiKeys as Map<string, unknown>).set('main-key', { kind: 'static', name: 'main-key', value: 'x' })).toThrow(TypeError);
    expect(() => ((alpha.services.get('cc')!.auth as { name: string }).name = 'authorization')).toThrow(TypeError);
  });

  it('refuses new entries in the user lookup', () => {
    const config = snapshot();
    expect(() => (config.usersByKeyDigest as Map<string, unknown>).set('00', config.users[0])).toThrow(TypeError);
  });

  it('refuses changes deep inside the model map', () => {
    const { models } = snapshot();
    const sonnet = models['claude-sonnet'] as { aliases: string[] };
    expect(() => sonnet.aliases.push('opus')).toThrow(TypeError);
  });
});

describe('deepFreeze', () => {
  it('freezes objects that reference each other', () => {
    const a: Record<string, unknown> = {};
    const b = { a };
    a.b = b;
    deepFreeze(a);
    expect(Object.isFrozen(a) && Object.isFrozen(b)).toBe(true);
  });

  it('leaves a Map readable', () => {
    const map = deepFreeze(new Map([['k', { v: 1 }]]));
    expect(map.get('k')).toEqual({ v: 1 });
    expect([...map.entries()]).toEqual([['k', { v: 1 }]]);
    expect(Object.isFrozen(map.get('k'))).toBe(true);
  });

  it('returns scalars as they are', () => {
    expect(deepFreeze(5)).toBe(5);
    expect(deepFreeze(null)).toBe(null);
  });
});
