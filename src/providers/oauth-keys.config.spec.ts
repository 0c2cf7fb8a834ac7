import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/config-loader.js';
import './oauth-keys.config.js';

const config = (oauth: string) => `providers:
  - name: p
    apiKeys:
      team: { oauth: ${oauth}, credentialsFile: /var/lib/piapi/team.json }
users: []
`;

describe('OAuth key config check', () => {
  it('accepts the OAuth providers piapi can refresh', () => {
    for (const oauth of ['openai-codex', 'anthropic', 'github-copilot']) expect(parseConfig(config(oauth)).ok).toBe(true);
  });

  it('reports any other with the path of the key', () => {
    const result = parseConfig(config('google'));

    expect(result.ok ? [] : result.errors).toEqual([
      'providers[0].apiKeys.team.oauth: unknown OAuth provider "google" (supported: openai-codex, anthropic, github-copilot)',
    ]);
  });
});
