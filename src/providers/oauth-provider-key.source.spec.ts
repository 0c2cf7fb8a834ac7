import { describe, expect, it } from 'vitest';
import { fakeCodexJwt } from '../../test/fakes/fake-jwt.js';
import { OAuthProviderKeySource, type OAuthCredentialSources } from './oauth-provider-key.source.js';
import { codexAccountId, passThroughHeaders } from './oauth-pass-through-headers.js';

function storeServing(token: string, extra: Record<string, unknown> = {}): OAuthCredentialSources {
  return { files: { access: () => Promise.resolve({ token, credentials: { access: token, refresh: 'r', expires: 0, ...extra } }) } };
}

describe('OAuthProviderKeySource', () => {
  it('serves a static key as it is, without headers', () => {
    const source = new OAuthProviderKeySource(storeServing('unused'));

    expect(source.resolve({ kind: 'static', name: 'k', value: 'sk-static' })).toEqual({ secret: 'sk-static' });
  });

  it('serves an openai-codex key as its access token with the account id and beta headers', async () => {
    const token = fakeCodexJwt({ accountId: 'acct_42' });
    const source = new OAuthProviderKeySource(storeServing(token));

    expect(await source.resolve({ kind: 'oauth', name: 'k', provider: 'p', oauth: 'openai-codex', credentialsFile: '/x' })).toEqual({
      secret: token,
      headers: { 'chatgpt-account-id': 'acct_42', 'OpenAI-Beta': 'responses=experimental' },
    });
  });

  it('serves an anthropic key as its access token alone', async () => {
    const source = new OAuthProviderKeySource(storeServing('sk-ant-oat01-x'));

    expect(await source.resolve({ kind: 'oauth', name: 'k', provider: 'p', oauth: 'anthropic', credentialsFile: '/x' })).toEqual({ secret: 'sk-ant-oat01-x' });
  });
});

describe('passThroughHeaders', () => {
  it('gives github-copilot the editor identity pi-ai declares for Copilot models', () => {
    expect(passThroughHeaders('github-copilot', 'tid=1', { access: 'tid=1', refresh: 'r', expires: 0 })).toMatchObject({
      'Copilot-Integration-Id': 'vscode-chat',
      'Editor-Version': expect.stringMatching(/^vscode\//),
    });
  });
});

describe('codexAccountId', () => {
  it('falls back to the account id saved at login when the token is not a JWT', () => {
    expect(codexAccountId('opaque', { access: 'opaque', refresh: 'r', expires: 0, accountId: 'acct_saved' })).toBe('acct_saved');
  });

  it('fails clearly when neither has one', () => {
    expect(() => codexAccountId('opaque', { access: 'opaque', refresh: 'r', expires: 0 })).toThrow('carries no ChatGPT account id');
  });
});
