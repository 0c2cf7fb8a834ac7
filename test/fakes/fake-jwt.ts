const AUTH_CLAIM = 'https://api.openai.com/auth';

export interface FakeCodexJwtOptions {
  accountId?: string;
  /** Seconds until `exp`; negative for an expired token. */
  expiresInSeconds?: number;
  email?: string;
}

/**
 * An unsigned JWT shaped like a ChatGPT OAuth access token: what openai-codex clients (pi-ai)
 * read the account id from. Only fake upstreams accept it.
 */
export function fakeCodexJwt({
  accountId = 'acct_fake0001',
  expiresInSeconds = 3600,
  email = 'dev@example.com',
}: FakeCodexJwtOptions = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'none', typ: 'JWT' };
  const payload = {
    iat: now,
    exp: now + expiresInSeconds,
    [AUTH_CLAIM]: { chatgpt_account_id: accountId, chatgpt_plan_type: 'plus' },
    'https://api.openai.com/profile': { email },
  };
  return `${segment(header)}.${segment(payload)}.${Buffer.from('fake-signature').toString('base64url')}`;
}

/** The account id inside a token from `fakeCodexJwt` (or a real one), or undefined. */
export function readCodexAccountId(token: string): string | undefined {
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    const auth = (payload as Record<string, { chatgpt_account_id?: unknown } | undefined>)[AUTH_CLAIM];
    return typeof auth?.chatgpt_account_id === 'string' ? auth.chatgpt_account_id : undefined;
  } catch {
    return undefined;
  }
}

// pi-ai decodes the payload with atob(), which rejects base64url's '-' and '_'. From ASCII
// text those letters only come from '>', '?' and '~'; escaping them (and non-ASCII) in the
// JSON keeps every token decodable by atob and base64url alike.
function segment(value: object): string {
  const json = JSON.stringify(value).replace(
    /[>?\u007e-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return Buffer.from(json).toString('base64url');
}
