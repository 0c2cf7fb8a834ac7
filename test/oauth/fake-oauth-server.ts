import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { OAuthCredentials } from '@mariozechner/pi-ai/oauth';
import { fakeCodexJwt } from '../fakes/fake-jwt.js';
import { startFakeUpstream, type FakeUpstream, type RecordedRequest } from '../fakes/fake-upstream.js';

/**
 * The token endpoints of pi-ai's OAuth providers on one real HTTP server on 127.0.0.1. pi-ai's
 * endpoint URLs are fixed, so tests route their hosts here (host-routing.ts); the paths tell the
 * providers apart:
 *
 * - openai-codex: `POST /oauth/token` (form), rotating refresh tokens like auth.openai.com
 * - anthropic: `POST /v1/oauth/token` (JSON), rotating refresh tokens too
 * - github-copilot: device flow on `/login/device/code` and `/login/oauth/access_token`,
 *   Copilot tokens from `GET /copilot_internal/v2/token`, `POST /models/<id>/policy`
 *
 * A refresh token works once; presenting it again is recorded in `reusedRefreshTokens` and
 * answered like OpenAI does (`refresh_token_reused`).
 */
export interface FakeOAuthServer {
  readonly url: string;
  readonly upstream: FakeUpstream;
  /** Successful refresh grants (Copilot token fetches for github-copilot), per provider. */
  readonly refreshes: Record<FakeOAuthProvider, number>;
  readonly reusedRefreshTokens: string[];
  /** Credentials as if a login just happened; `expiresInMs` may be negative (already expired). */
  issue(provider: FakeOAuthProvider, options?: IssueOptions): OAuthCredentials;
  /** Accept `code` once in an authorization-code exchange whose verifier matches `challenge` (S256). */
  acceptAuthorizationCode(code: string, challenge: string): void;
  /** Lifetime of tokens issued from now on. */
  setTokenLifetime(ms: number): void;
  /** Hold every refresh response this long (to let concurrent requests pile up). */
  setRefreshDelay(ms: number): void;
  /** Answer refreshes with this HTTP status instead of tokens; undefined to stop. */
  failRefreshesWith(status: number | undefined): void;
  close(): Promise<void>;
}

export type FakeOAuthProvider = 'openai-codex' | 'anthropic' | 'github-copilot';

export interface IssueOptions {
  expiresInMs?: number;
  accountId?: string;
}

export const FAKE_ACCOUNT_ID = 'acct_fake_team_0001';

export async function startFakeOAuthServer(): Promise<FakeOAuthServer> {
  const refreshes: Record<FakeOAuthProvider, number> = { 'openai-codex': 0, anthropic: 0, 'github-copilot': 0 };
  const reusedRefreshTokens: string[] = [];
  const validRefresh = new Map<string, { provider: FakeOAuthProvider; accountId: string }>();
  const usedRefresh = new Set<string>();
  const codes = new Map<string, string>();
  let lifetimeMs = 3_600_000;
  let refreshDelayMs = 0;
  let failStatus: number | undefined;
  let serial = 0;
  let devicePolls = 0;

  const accessToken = (provider: FakeOAuthProvider, accountId: string, expiresInMs: number): string => {
    serial++;
    if (provider === 'openai-codex') {
      // The email makes every token distinct; the JWT carries the account id like ChatGPT's do.
      return fakeCodexJwt({ accountId, expiresInSeconds: Math.round(expiresInMs / 1000), email: `dev+${serial}@example.com` });
    }
    if (provider === 'anthropic') return `sk-ant-oat01-fake-access-${serial}-${randomBytes(4).toString('hex')}`;
    const exp = Math.floor((Date.now() + expiresInMs) / 1000);
    return `tid=fake${serial};exp=${exp};sku=fake;proxy-ep=proxy.individual.githubcopilot.com;8kp=1:fake`;
  };

  const newRefresh = (provider: FakeOAuthProvider, accountId: string): string => {
    const token = `fake-refresh-${provider}-${++serial}-${randomBytes(6).toString('hex')}`;
    validRefresh.set(token, { provider, accountId });
    return token;
  };

  const issue = (provider: FakeOAuthProvider, options: IssueOptions = {}): OAuthCredentials => {
    const accountId = options.accountId ?? FAKE_ACCOUNT_ID;
    const expiresInMs = options.expiresInMs ?? lifetimeMs;
    const credentials: OAuthCredentials = {
      access: accessToken(provider, accountId, expiresInMs),
      refresh: provider === 'github-copilot' ? `gho-fake-github-token-${++serial}` : newRefresh(provider, accountId),
      expires: Date.now() + expiresInMs,
    };
    if (provider === 'openai-codex') credentials.accountId = accountId;
    return credentials;
  };

  /** Rotates `token`: the answer for a refresh grant, or an error the way the real endpoint words it. */
  const rotate = (provider: FakeOAuthProvider, token: string): { status: number; body: unknown } => {
    if (failStatus !== undefined) return { status: failStatus, body: { error: 'server_error', error_description: 'fake failure' } };
    const known = validRefresh.get(token);
    if (!known || known.provider !== provider) {
      if (usedRefresh.has(token)) reusedRefreshTokens.push(token);
      return {
        status: 400,
        body: { error: 'invalid_grant', error_description: usedRefresh.has(token) ? 'refresh_token_reused' : 'unknown refresh token' },
      };
    }
    validRefresh.delete(token);
    usedRefresh.add(token);
    refreshes[provider]++;
    return { status: 200, body: tokenResponse(provider, known.accountId) };
  };

  const tokenResponse = (provider: FakeOAuthProvider, accountId: string) => ({
    access_token: accessToken(provider, accountId, lifetimeMs),
    refresh_token: newRefresh(provider, accountId),
    expires_in: Math.round(lifetimeMs / 1000),
    token_type: 'Bearer',
  });

  const exchangeCode = (provider: FakeOAuthProvider, code: string, verifier: string): { status: number; body: unknown } => {
    const challenge = codes.get(code);
    codes.delete(code);
    if (challenge === undefined) return { status: 400, body: { error: 'invalid_grant', error_description: 'unknown code' } };
    if (createHash('sha256').update(verifier).digest('base64url') !== challenge) {
      return { status: 400, body: { error: 'invalid_grant', error_description: 'PKCE verification failed' } };
    }
    return { status: 200, body: tokenResponse(provider, FAKE_ACCOUNT_ID) };
  };

  const handle = async (req: RecordedRequest, res: ServerResponse): Promise<void> => {
    const route = `${req.method} ${req.path}`;
    if (route === 'POST /oauth/token') {
      const form = new URLSearchParams(req.text());
      if (form.get('grant_type') === 'refresh_token') {
        await sleep(refreshDelayMs);
        return send(res, rotate('openai-codex', form.get('refresh_token') ?? ''));
      }
      return send(res, exchangeCode('openai-codex', form.get('code') ?? '', form.get('code_verifier') ?? ''));
    }
    if (route === 'POST /v1/oauth/token') {
      const body = req.json<Record<string, string>>();
      if (body.grant_type === 'refresh_token') {
        await sleep(refreshDelayMs);
        return send(res, rotate('anthropic', body.refresh_token ?? ''));
      }
      return send(res, exchangeCode('anthropic', body.code ?? '', body.code_verifier ?? ''));
    }
    if (route === 'POST /login/device/code') {
      return send(res, {
        status: 200,
        body: { device_code: 'fake-device-code', user_code: 'FAKE-1234', verification_uri: 'https://github.com/login/device', interval: 1, expires_in: 60 },
      });
    }
    if (route === 'POST /login/oauth/access_token') {
      // The user has not typed the code yet on the first poll.
      devicePolls++;
      if (devicePolls === 1) return send(res, { status: 200, body: { error: 'authorization_pending' } });
      return send(res, { status: 200, body: { access_token: `gho-fake-github-token-${++serial}`, token_type: 'bearer' } });
    }
    if (route === 'GET /copilot_internal/v2/token') {
      await sleep(refreshDelayMs);
      if (failStatus !== undefined) return send(res, { status: failStatus, body: { message: 'fake failure' } });
      if (!/^Bearer gho-fake-github-token-/.test(req.headers.authorization ?? '')) return send(res, { status: 401, body: { message: 'Bad credentials' } });
      refreshes['github-copilot']++;
      return send(res, {
        status: 200,
        body: { token: accessToken('github-copilot', '', lifetimeMs), expires_at: Math.floor((Date.now() + lifetimeMs) / 1000) },
      });
    }
    if (req.method === 'POST' && /^\/models\/[^/]+\/policy$/.test(req.path)) return send(res, { status: 200, body: { state: 'enabled' } });
    return send(res, { status: 404, body: { error: `fake oauth: no route for ${route}` } });
  };

  const upstream = await startFakeUpstream(handle);
  return {
    url: upstream.url,
    upstream,
    refreshes,
    reusedRefreshTokens,
    issue,
    acceptAuthorizationCode: (code, challenge) => codes.set(code, challenge),
    setTokenLifetime: (ms) => (lifetimeMs = ms),
    setRefreshDelay: (ms) => (refreshDelayMs = ms),
    failRefreshesWith: (status) => (failStatus = status),
    close: () => upstream.close(),
  };
}

function send(res: ServerResponse, { status, body }: { status: number; body: unknown }): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
