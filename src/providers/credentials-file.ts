import { readFile, stat } from 'node:fs/promises';
import type { OAuthCredentials } from '@mariozechner/pi-ai/oauth';
import { writeFileAtomic } from './atomic-write.js';

/**
 * An OAuth credentials file holds pi-ai's `OAuthCredentials` as JSON:
 * `{ "access": "...", "refresh": "...", "expires": <epoch ms>, ...provider extras }`
 * (openai-codex adds `accountId`, github-copilot `enterpriseUrl`).
 */

export class CredentialsFileError extends Error {}

/** The credentials in a file's text; throws a CredentialsFileError that never quotes the text. */
export function parseCredentials(text: string, path: string): OAuthCredentials {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CredentialsFileError(`${path} is not valid JSON`);
  }
  if (!isCredentials(value)) {
    throw new CredentialsFileError(`${path} does not hold OAuth credentials (expected "access", "refresh" and "expires")`);
  }
  return value;
}

export function isCredentials(value: unknown): value is OAuthCredentials {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const c = value as Record<string, unknown>;
  return (
    typeof c.access === 'string' &&
    c.access !== '' &&
    typeof c.refresh === 'string' &&
    c.refresh !== '' &&
    typeof c.expires === 'number' &&
    Number.isFinite(c.expires)
  );
}

/** Identifies one version of a file: a rename (another writer) or an edit changes it. */
export async function fileVersion(path: string): Promise<string> {
  const s = await stat(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
}

export async function readCredentialsFile(path: string): Promise<{ credentials: OAuthCredentials; version: string }> {
  let version: string;
  let text: string;
  try {
    // Version first: a write between the two reads is then seen as a change on the next check.
    version = await fileVersion(path);
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new CredentialsFileError(`cannot read ${path}: ${code}`);
  }
  return { credentials: parseCredentials(text, path), version };
}

/** Writes credentials atomically with mode 0600 and returns the new file version. */
export async function writeCredentialsFile(path: string, credentials: OAuthCredentials): Promise<string> {
  await writeFileAtomic(path, `${JSON.stringify(credentials, null, 2)}\n`, 0o600);
  return fileVersion(path);
}
