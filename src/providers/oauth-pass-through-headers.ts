import { getModels } from '@mariozechner/pi-ai';
import type { OAuthCredentials } from '@mariozechner/pi-ai/oauth';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';

/**
 * Headers an OAuth provider's backend needs besides the bearer token, for pass-through
 * (clients talking to `/piapi/<service>/...`). The Messages API goes through pi-ai, which
 * sends them itself. They replace what the client sent under the same names, so only headers
 * that belong to the credentials are here, not the client's identity (`originator`, `User-Agent`
 * from Codex CLI pass through as they are).
 */
export function passThroughHeaders(
  oauthProvider: string,
  token: string,
  credentials: OAuthCredentials,
): Readonly<Record<string, string>> | undefined {
  switch (oauthProvider) {
    case 'openai-codex':
      // What pi-ai's openai-codex-responses provider sends with the token.
      return { 'chatgpt-account-id': codexAccountId(token, credentials), 'OpenAI-Beta': 'responses=experimental' };
    case 'github-copilot':
      return copilotHeaders();
    default:
      return undefined;
  }
}

const CODEX_AUTH_CLAIM = 'https://api.openai.com/auth';

/** The ChatGPT account id from the access token's auth claim, else the one saved at login. */
export function codexAccountId(token: string, credentials: OAuthCredentials): string {
  const fromToken = jwtClaim(token, CODEX_AUTH_CLAIM)?.chatgpt_account_id;
  if (typeof fromToken === 'string' && fromToken !== '') return fromToken;
  if (typeof credentials.accountId === 'string' && credentials.accountId !== '') return credentials.accountId;
  throw new GatewayError(ErrorCode.Unavailable, 'openai-codex access token carries no ChatGPT account id');
}

function jwtClaim(token: string, claim: string): Record<string, unknown> | undefined {
  const payload = token.split('.')[1];
  if (token.split('.').length !== 3 || !payload) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const value = (parsed as Record<string, unknown> | null)?.[claim];
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

let copilot: Readonly<Record<string, string>> | undefined;

/** The editor identity Copilot's API requires, as pi-ai's github-copilot models declare it. */
function copilotHeaders(): Readonly<Record<string, string>> | undefined {
  copilot ??= Object.freeze({ ...getModels('github-copilot').find((m) => m.headers)?.headers });
  return Object.keys(copilot).length > 0 ? copilot : undefined;
}
