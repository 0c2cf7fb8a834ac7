import { createHash } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';

/**
 * The heads of recent upstream error responses made with Node's fetch, found again by origin,
 * status and credential.
 *
 * pi-ai's SDK-based providers (Anthropic, OpenAI, Google…) turn an error response into the
 * error's message and drop its headers, and with them `retry-after` and the rate-limit reset
 * headers a client and a key pool's cooldown need. The SDKs call Node's fetch, whose undici
 * reports every response head on the `undici:request:headers` diagnostics channel: the heads of
 * error responses are kept here for a few seconds. The request they belong to cannot be told
 * from the message, so they are keyed by what identifies the key that was refused: the
 * credential header (hashed, never kept as it is), the origin and the status. Two requests
 * refused on one key at once share their hint, which is true of both.
 */

export type ResponseHead = Readonly<Record<string, string>>;

interface Entry {
  head: ResponseHead;
  at: number;
}

const MAX_AGE_MS = 5_000;
const MAX_ENTRIES = 1_000;
const CREDENTIAL_HEADERS = new Set(['x-api-key', 'authorization', 'x-goog-api-key', 'api-key']);

const entries = new Map<string, Entry>();
let subscribed = false;

/** Starts keeping error heads (idempotent); called by the translated routes' upstream call. */
export function watchErrorResponseHeads(): void {
  if (subscribed) return;
  subscribed = true;
  diagnostics.subscribe('undici:request:headers', (message) => onHeaders(message as HeadersMessage));
}

/** The head of a recent error response with `status` from `origin` to a request carrying `secret`. */
export function recentErrorHead(origin: string, status: number, secret: string, now = Date.now()): ResponseHead | undefined {
  const entry = entries.get(entryKey(origin, status, digest(secret)));
  return entry && now - entry.at <= MAX_AGE_MS ? entry.head : undefined;
}

/** The origin of a base URL (`https://api.anthropic.com/v1` → `https://api.anthropic.com`), or undefined. */
export function originOf(baseUrl: string | undefined): string | undefined {
  if (!baseUrl) return undefined;
  try {
    return new URL(baseUrl).origin;
  } catch {
    return undefined;
  }
}

interface HeadersMessage {
  request: { origin?: unknown; headers?: unknown };
  response: { statusCode: number; headers: unknown };
}

function onHeaders({ request, response }: HeadersMessage): void {
  if (response.statusCode < 400) return;
  const secret = credentialOf(request.headers);
  if (secret === undefined || typeof request.origin !== 'string') return;
  const now = Date.now();
  if (entries.size >= MAX_ENTRIES) prune(now);
  const key = entryKey(originOf(request.origin) ?? request.origin, response.statusCode, digest(secret));
  entries.delete(key);
  entries.set(key, { head: headObject(response.headers), at: now });
}

/** The credential of a request's headers (undici gives `[name, value, …]` or raw header lines). */
function credentialOf(headers: unknown): string | undefined {
  const pairs = Array.isArray(headers) ? headers : typeof headers === 'string' ? headerLines(headers) : [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = String(pairs[i]).toLowerCase();
    if (CREDENTIAL_HEADERS.has(name)) return String(pairs[i + 1]).replace(/^bearer\s+/i, '');
  }
  return undefined;
}

function headerLines(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) out.push(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return out;
}

/** Response headers as undici reports them (`[Buffer name, Buffer value, …]`), lower-cased names. */
function headObject(raw: unknown): ResponseHead {
  const head: Record<string, string> = {};
  if (!Array.isArray(raw)) return head;
  for (let i = 0; i + 1 < raw.length; i += 2) head[String(raw[i]).toLowerCase()] = String(raw[i + 1]);
  return head;
}

function prune(now: number): void {
  for (const [key, entry] of entries) {
    if (now - entry.at > MAX_AGE_MS || entries.size >= MAX_ENTRIES) entries.delete(key);
    else break;
  }
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

function entryKey(origin: string, status: number, secretDigest: string): string {
  return `${origin} ${status} ${secretDigest}`;
}
