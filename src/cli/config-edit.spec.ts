import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { addProviderKey } from './config-edit.js';

const key = { oauth: 'openai-codex' as const, credentialsFile: '/var/lib/piapi/chatgpt-team.json' };
const newProvider = () => ({ name: 'chatgpt', apiKeys: {}, services: [{ type: 'cx', baseUrl: 'https://chatgpt.com/backend-api/codex' }] });

const CONFIG = `# team gateway
listen: ":9200"
providers:
  - name: chatgpt   # the subscription
    apiKeys:
      old: sk-static
users: []
`;

describe('addProviderKey', () => {
  it('adds the key to the provider of that name, keeping comments and other keys', () => {
    const { text, change } = addProviderKey(CONFIG, { providerName: 'chatgpt', keyName: 'chatgpt-team', key, newProvider });

    expect(change).toBe('added key "chatgpt-team" of provider "chatgpt"');
    expect(text).toContain('# team gateway');
    expect(text).toContain('# the subscription');
    expect(text).toContain('chatgpt-team: { oauth: openai-codex, credentialsFile: /var/lib/piapi/chatgpt-team.json }');
    expect(parse(text).providers[0].apiKeys).toEqual({ old: 'sk-static', 'chatgpt-team': key });
  });

  it('replaces a key of the same name', () => {
    const { text, change } = addProviderKey(CONFIG, { providerName: 'chatgpt', keyName: 'old', key, newProvider });

    expect(change).toBe('replaced key "old" of provider "chatgpt"');
    expect(parse(text).providers[0].apiKeys).toEqual({ old: key });
  });

  it('appends a new provider when none has that name', () => {
    const { text, change } = addProviderKey(CONFIG, { providerName: 'codex', keyName: 'team', key, newProvider: () => ({ ...newProvider(), name: 'codex' }) });

    expect(change).toBe('added provider "codex" with key "team"');
    const providers = parse(text).providers;
    expect(providers.map((p: { name: string }) => p.name)).toEqual(['chatgpt', 'codex']);
    expect(providers[1].apiKeys).toEqual({ team: key });
  });

  it('creates the providers list when the config has none', () => {
    const { text } = addProviderKey('users: []\n', { providerName: 'chatgpt', keyName: 'k', key, newProvider });

    expect(parse(text).providers).toHaveLength(1);
  });

  it('refuses text that is not a YAML mapping', () => {
    expect(() => addProviderKey('- a\n- b\n', { providerName: 'p', keyName: 'k', key, newProvider })).toThrow('not a YAML mapping');
  });
});
