/**
 * Cooldown arithmetic of a pool key: how long a failed key is skipped. Pure: the stores
 * (cooldown-store.ts) keep the records, these functions say what the next record is.
 */

/** What went wrong with a key, for its cooldown. */
export type KeyFailure = 'limited' | 'failing' | 'auth';

export interface CooldownSettings {
  /** The first cooldown of a key without a hint; doubled on each repeated failure. */
  cooldownMs: number;
  /** The same for a key refused with 401/403 (revoked, logged out). */
  authCooldownMs: number;
}

export const DEFAULT_COOLDOWN_MS = 60_000;
/** Auth failures keep a key out this many times longer unless `authCooldownMs` says otherwise. */
export const AUTH_COOLDOWN_FACTOR = 10;
/** Doubling stops here (unless a configured cooldown is longer to begin with). */
export const MAX_BACKOFF_MS = 30 * 60_000;
/**
 * How long a record outlives its cooldown: a key failing again within this time doubles its
 * cooldown; after it, the key starts over.
 */
export const FAILURE_MEMORY_MS = MAX_BACKOFF_MS;

export interface CooldownRecord {
  /** Epoch ms until which the key is skipped. */
  until: number;
  /** Failures in a row, each after the previous cooldown ended. */
  failures: number;
}

export function isCooling(record: CooldownRecord | undefined, now: number): boolean {
  return record !== undefined && record.until > now;
}

/**
 * The record after a failure at `now`. `freeAt` is the upstream's own word (cooldown-hints.ts),
 * used as it is for limits and failures (never for auth failures: a revoked key does not get
 * free at a time). A failure while the key is already cooling comes from a request sent before
 * the cooldown began (the same event, seen again): it may lengthen the cooldown but does not
 * count as one more failure, or ten concurrent 429s would double ten times.
 */
export function afterFailure(prev: CooldownRecord | undefined, failure: KeyFailure, freeAt: number | undefined, settings: CooldownSettings, now: number): CooldownRecord {
  const cooling = isCooling(prev, now);
  const failures = cooling ? (prev as CooldownRecord).failures : (prev?.failures ?? 0) + 1;
  const hint = failure === 'auth' ? undefined : freeAt;
  const until = hint !== undefined ? Math.max(hint, now) : now + backoffMs(failure === 'auth' ? settings.authCooldownMs : settings.cooldownMs, failures);
  return { until: cooling ? Math.max(until, (prev as CooldownRecord).until) : until, failures };
}

/** `base` doubled for each failure after the first, at most {@link MAX_BACKOFF_MS} (or `base`, if longer). */
export function backoffMs(base: number, failures: number): number {
  const cap = Math.max(base, MAX_BACKOFF_MS);
  // 2^31 and more is past any cap; the exponent is bounded so the product stays finite.
  return Math.min(base * 2 ** Math.min(Math.max(failures - 1, 0), 31), cap);
}

/**
 * Whether a success at `now` clears the record. A key still cooling stays so: the success is of
 * a request sent before the failure that cooled it.
 */
export function successClears(prev: CooldownRecord | undefined, now: number): boolean {
  return prev !== undefined && !isCooling(prev, now);
}

/** When a record may be forgotten (its failure count with it). */
export function forgetAt(record: CooldownRecord): number {
  return record.until + FAILURE_MEMORY_MS;
}

/** The default auth cooldown for a pool's `cooldownMs`. */
export function defaultAuthCooldownMs(cooldownMs: number): number {
  return cooldownMs * AUTH_COOLDOWN_FACTOR;
}
