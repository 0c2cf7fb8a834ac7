import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config-loader.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { ConnectionCallers } from './key-resolver.js';

const ALICE = 'piapi-alice-key-000000000001';
const BOB = 'piapi-bob-key-00000000000002';

function config(users: string): GatewayConfig {
  const result = parseConfig(`providers:
  - name: p
    apiKeys: { k: fake-resolver-provider-key }
    services: [{ type: cx, baseUrl: "http://127.0.0.1:9" }]
users:
${users}`);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

const both = config(`  - { name: alice, apiKey: ${ALICE}, providerName: p, providerKeyName: k }
  - { name: bob, apiKey: ${BOB}, providerName: p, providerKeyName: k }
`);
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('ConnectionCallers', () => {
  it('resolves each request of a connection to the user of the key it presents, whoever came before', () => {
    const callers = new ConnectionCallers();
    const connection = {};
    const seen = [ALICE, ALICE, BOB, ALICE, BOB, BOB].map((key) => callers.resolve(connection, both, bearer(key)).name);
    expect(seen).toEqual(['alice', 'alice', 'bob', 'alice', 'bob', 'bob']);
  });

  it('refuses a wrong key on a connection whose previous request was accepted', () => {
    const callers = new ConnectionCallers();
    const connection = {};
    callers.resolve(connection, both, bearer(ALICE));
    // Same length, last character changed; then a prefix; then no key at all.
    for (const wrong of [`${ALICE.slice(0, -1)}2`, ALICE.slice(0, -1)]) {
      expect(() => callers.resolve(connection, both, bearer(wrong))).toThrow('Invalid API key');
    }
    expect(() => callers.resolve(connection, both, {})).toThrow('Missing API key');
    expect(callers.resolve(connection, both, { 'x-api-key': ALICE }).name).toBe('alice');
  });

  it('forgets what it remembered when the config is reloaded: a removed key is refused on the next request', () => {
    const callers = new ConnectionCallers();
    const connection = {};
    expect(callers.resolve(connection, both, bearer(BOB)).name).toBe('bob');
    const withoutBob = config(`  - { name: alice, apiKey: ${ALICE}, providerName: p, providerKeyName: k }\n`);
    expect(() => callers.resolve(connection, withoutBob, bearer(BOB))).toThrow('Invalid API key');
    // And a user changed by the reload is the new snapshot's user object.
    const renamed = config(`  - { name: bobby, apiKey: ${BOB}, providerName: p, providerKeyName: k }\n`);
    expect(callers.resolve(connection, renamed, bearer(BOB)).name).toBe('bobby');
  });

  // What each connection remembers is not observable here (only timing shows a hit): this holds
  // the answers right when connections interleave.
  it('resolves interleaved connections each by the key it presents', () => {
    const callers = new ConnectionCallers();
    const [one, two] = [{}, {}];
    expect(callers.resolve(one, both, bearer(ALICE)).name).toBe('alice');
    expect(callers.resolve(two, both, bearer(BOB)).name).toBe('bob');
    expect(callers.resolve(one, both, bearer(ALICE)).name).toBe('alice');
    expect(() => callers.resolve(two, both, bearer(`${BOB}x`))).toThrow('Invalid API key');
  });
});
