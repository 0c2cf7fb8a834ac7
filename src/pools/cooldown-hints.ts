/**
 * When an upstream says a limited key is free again, read from its answer: `retry-after-ms`
 * (OpenAI), `retry-after` (seconds or an HTTP date), ChatGPT's `usage_limit_reached` error body
 * (`resets_in_seconds`, `resets_at`), and the rate-limit reset headers of OpenAI
 * (`x-ratelimit-reset-*`: durations like `6m0s`) and Anthropic (`anthropic-ratelimit-*-reset`:
 * RFC 3339 times). Plain functions over headers and text: no I/O.
 */

export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** Beyond this a hint is taken as garbage rather than waited for (a week: ChatGPT's longest usage window). */
export const MAX_HINT_MS = 7 * 24 * 3600_000;

/**
 * The time (epoch ms) the upstream says the key is free again, or undefined when it says nothing
 * usable. The explicit hints (`retry-after*`, the error body) win over the reset headers; among
 * several of a kind the latest counts, since the key is free only once every limit is.
 */
export function upstreamFreeAt(headers: ResponseHeaders, body: string | undefined, now: number): number | undefined {
  const explicit = latest([retryAfterAt(headers, now), body === undefined ? undefined : usageLimitResetAt(body, now)]);
  return bounded(explicit ?? rateLimitResetAt(headers, now), now);
}

/** `retry-after-ms` first (finer), else `retry-after` as seconds or as an HTTP date. */
export function retryAfterAt(headers: ResponseHeaders, now: number): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return now + Number(ms);
  const value = header(headers, 'retry-after');
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return now + Number(value) * 1000;
  // An HTTP date has a weekday and "GMT"; Date.parse alone would also take "5" or "2026".
  if (!/[A-Za-z]{3},? .*\d{2}:\d{2}:\d{2}/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at;
}

/**
 * ChatGPT (Codex) answers a used-up plan with a 429 and
 * `{"error":{"type":"usage_limit_reached","resets_in_seconds":N,"resets_at":<epoch s>}}`.
 */
export function usageLimitResetAt(body: string, now: number): number | undefined {
  if (!body.includes('usage_limit_reached')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const error = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : parsed;
  if (!isRecord(error) || error.type !== 'usage_limit_reached') return undefined;
  const inSeconds = error.resets_in_seconds;
  const at = error.resets_at;
  return latest([
    typeof inSeconds === 'number' && inSeconds >= 0 ? now + inSeconds * 1000 : undefined,
    typeof at === 'number' && at > 0 ? at * 1000 : undefined,
  ]);
}

const OPENAI_LIMITS = ['requests', 'tokens'];
const ANTHROPIC_LIMITS = ['requests', 'tokens', 'input-tokens', 'output-tokens'];

/**
 * The reset of the limits the answer shows used up (remaining 0); a reset without its remaining
 * header counts too. A limit with requests left is not what refused the request.
 */
export function rateLimitResetAt(headers: ResponseHeaders, now: number): number | undefined {
  const resets: (number | undefined)[] = [];
  for (const limit of OPENAI_LIMITS) {
    if (exhausted(headers, `x-ratelimit-remaining-${limit}`)) resets.push(durationAt(header(headers, `x-ratelimit-reset-${limit}`), now));
  }
  for (const limit of ANTHROPIC_LIMITS) {
    if (exhausted(headers, `anthropic-ratelimit-${limit}-remaining`)) resets.push(rfc3339At(header(headers, `anthropic-ratelimit-${limit}-reset`)));
  }
  return latest(resets);
}

/** OpenAI's Go-style durations: `1s`, `6m0s`, `120ms`, `1h2m3.5s`. */
export function parseDurationMs(value: string): number | undefined {
  if (!/^(\d+(\.\d+)?(h|ms|m|s))+$/.test(value)) return undefined;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) {
    total += Number(amount) * UNIT_MS[unit];
  }
  return total;
}
const UNIT_MS: Readonly<Record<string, number>> = { h: 3600_000, m: 60_000, s: 1000, ms: 1 };

function durationAt(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDurationMs(value);
  return ms === undefined ? undefined : now + ms;
}

function rfc3339At(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at;
}

function exhausted(headers: ResponseHeaders, remainingHeader: string): boolean {
  const remaining = header(headers, remainingHeader);
  return remaining === undefined || Number(remaining) <= 0;
}

function header(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined ? undefined : text.trim();
}

function latest(values: (number | undefined)[]): number | undefined {
  let out: number | undefined;
  for (const v of values) if (v !== undefined && Number.isFinite(v) && (out === undefined || v > out)) out = v;
  return out;
}

/** A time in the past means "free now"; one too far ahead is ignored. */
function bounded(at: number | undefined, now: number): number | undefined {
  if (at === undefined || at - now > MAX_HINT_MS) return undefined;
  return Math.max(at, now);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
