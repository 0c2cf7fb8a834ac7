import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { LoadResult } from '../../src/config/config-loader.js';

/** Keys used across the config specs; the provider keys are fake. */
export const KEYS = {
  alice: 'piapi-user-alice-0123456789',
  bob: 'piapi-user-bob-0123456789abc',
  carol: 'piapi-user-carol-0123456789',
  alphaMain: 'sk-alpha-main-secret-111111',
  alphaSpare: 'sk-alpha-spare-secret-33333',
  betaProd: 'sk-beta-prod-secret-2222222',
} as const;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A config file's content as a plain object. Specs put deliberately wrong values anywhere in it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any shape, on purpose
export type ConfigTree = Record<string, any>;

/** A valid config, fresh on every call so a test can change it freely. */
export function validConfig(): ConfigTree {
  return {
    listen: '127.0.0.1:9200',
    providers: [
      {
        name: 'provider-alpha',
        apiKeys: { 'main-key': KEYS.alphaMain, 'spare-key': KEYS.alphaSpare },
        services: [
          { type: 'cc', baseUrl: 'https://api.anthropic.com', auth: { mode: 'header', name: 'x-api-key' } },
          { type: 'cx', baseUrl: 'https://api.openai.com/v1/' },
        ],
      },
      {
        name: 'provider-beta',
        apiKeys: { 'prod-key': KEYS.betaProd },
        services: [{ type: 'cx', baseUrl: 'https://beta.example.com/codex', auth: { mode: 'query', name: 'api_key' } }],
      },
    ],
    users: [
      { name: 'Alice', apiKey: KEYS.alice, providerName: 'provider-alpha', providerKeyName: 'main-key' },
      { name: 'Bob', apiKey: KEYS.bob, providerName: 'provider-beta', providerKeyName: 'prod-key' },
      { name: 'Carol', apiKeyHash: `sha256:${sha256Hex(KEYS.carol)}`, providerName: 'provider-alpha', providerKeyName: 'spare-key' },
    ],
  };
}

export function toYaml(config: unknown): string {
  return stringify(config);
}

/** The errors of a load result, `[]` when it succeeded. */
export function errorsOf(result: LoadResult): string[] {
  return result.ok ? [] : result.errors;
}

/** A config file's text: one provider `p` with a `cx` service at `upstreamUrl`, and one user on it. */
export function passThroughConfigYaml(o: { upstreamUrl: string; user: string; key: string; providerKey: string }): string {
  return `providers:
  - name: p
    apiKeys: { k: ${o.providerKey} }
    services: [{ type: cx, baseUrl: ${o.upstreamUrl} }]
users:
  - { name: ${o.user}, apiKey: ${o.key}, providerName: p, providerKeyName: k }
`;
}
