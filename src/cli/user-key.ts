import { createHash, randomBytes } from 'node:crypto';

/** A fresh piapi user key: `piapi-` and 32 random bytes, base64url. */
export function newUserKey(): string {
  return `piapi-${randomBytes(32).toString('base64url')}`;
}

/** The `apiKeyHash` value for a key, so the config need not hold the key itself. */
export function userKeyHash(key: string): string {
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}
