/**
 * pino's `"time"` field as an ISO-8601 string, like `pino.stdTimeFunctions.isoTime`, without a
 * `Date` and its formatting per line: the text up to the second is reused while the second lasts.
 */
export function isoTimeField(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    // "2026-11-22T07:39:10." — the milliseconds and the zone follow.
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const ms = now - second * 1000;
  return `,"time":"${cachedPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}

let cachedSecond = Number.NaN;
let cachedPrefix = '';
