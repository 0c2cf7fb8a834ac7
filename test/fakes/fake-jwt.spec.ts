import { describe, expect, it } from 'vitest';
import { fakeCodexJwt, readCodexAccountId } from './fake-jwt.js';

describe('fakeCodexJwt', () => {
  it('carries the ChatGPT account id claim where openai-codex clients read it', () => {
    const token = fakeCodexJwt({ accountId: 'acct_123' });
    expect(token.split('.')).toHaveLength(3);
    expect(readCodexAccountId(token)).toBe('acct_123');
  });

  it('decodes with atob as well as base64url, whatever the claims contain', () => {
    const token = fakeCodexJwt({ accountId: 'a>b?c~d', email: 'ünïcødé@example.com' });
    const payload = token.split('.')[1];
    expect(payload).not.toMatch(/[-_+/=]/);
    const decoded = JSON.parse(atob(payload));
    expect(decoded['https://api.openai.com/auth'].chatgpt_account_id).toBe('a>b?c~d');
    expect(decoded['https://api.openai.com/profile'].email).toBe('ünïcødé@example.com');
  });

  it('sets exp from expiresInSeconds', () => {
    const token = fakeCodexJwt({ expiresInSeconds: -60 });
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    expect(exp).toBeLessThan(Date.now() / 1000);
  });
});
