import { describe, expect, it } from 'vitest';
import { FAILURE_MEMORY_MS, MAX_BACKOFF_MS, afterFailure, backoffMs, defaultAuthCooldownMs, forgetAt, isCooling, successClears, type CooldownRecord } from './key-cooldown.js';

const NOW = 1_000_000_000;
const SETTINGS = { cooldownMs: 60_000, authCooldownMs: 600_000 };

describe('afterFailure', () => {
  it('cools a key down for cooldownMs on its first failure without a hint', () => {
    expect(afterFailure(undefined, 'limited', undefined, SETTINGS, NOW)).toEqual({ until: NOW + 60_000, failures: 1 });
  });

  it("keeps a key out until the upstream's hint, when it gives one", () => {
    expect(afterFailure(undefined, 'limited', NOW + 2000, SETTINGS, NOW)).toEqual({ until: NOW + 2000, failures: 1 });
  });

  it('doubles the cooldown when the key fails again after its cooldown', () => {
    const first = afterFailure(undefined, 'failing', undefined, SETTINGS, NOW);
    const second = afterFailure(first, 'failing', undefined, SETTINGS, first.until);
    const third = afterFailure(second, 'failing', undefined, SETTINGS, second.until + 1);
    expect([second.until - first.until, third.until - (second.until + 1)]).toEqual([120_000, 240_000]);
    expect(third.failures).toBe(3);
  });

  it('stops doubling at 30 minutes', () => {
    let record: CooldownRecord | undefined;
    const lengths: number[] = [];
    let now = NOW;
    for (let i = 0; i < 8; i++) {
      record = afterFailure(record, 'limited', undefined, SETTINGS, now);
      lengths.push(record.until - now);
      now = record.until;
    }
    expect(lengths).toEqual([1, 2, 4, 8, 16, 30, 30, 30].map((m) => m * 60_000));
    expect(record!.failures).toBe(8);
  });

  it('keeps a key refused with 401/403 out for authCooldownMs, whatever the hint says', () => {
    expect(afterFailure(undefined, 'auth', NOW + 1000, SETTINGS, NOW)).toEqual({ until: NOW + 600_000, failures: 1 });
  });

  it('does not count a failure seen while the key is already cooling (a request sent before) as another one', () => {
    const cooling = afterFailure(undefined, 'limited', undefined, SETTINGS, NOW);
    const again = afterFailure(cooling, 'limited', undefined, SETTINGS, NOW + 10);
    expect(again).toEqual({ until: NOW + 10 + 60_000, failures: 1 });
  });

  it('never shortens a running cooldown', () => {
    const cooling = afterFailure(undefined, 'auth', undefined, SETTINGS, NOW);
    expect(afterFailure(cooling, 'limited', NOW + 1000, SETTINGS, NOW + 10).until).toBe(cooling.until);
  });

  it('takes a hint in the past as free now', () => {
    expect(afterFailure(undefined, 'limited', NOW - 5000, SETTINGS, NOW).until).toBe(NOW);
  });
});

describe('backoffMs', () => {
  it('doubles per failure after the first', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(1000, n))).toEqual([1000, 2000, 4000, 8000]);
  });

  it('caps at 30 minutes, or at a configured cooldown that is longer', () => {
    expect(backoffMs(60_000, 10)).toBe(MAX_BACKOFF_MS);
    expect(backoffMs(3600_000, 3)).toBe(3600_000);
  });

  it('stays finite for absurd failure counts', () => {
    expect(backoffMs(1000, 10_000)).toBe(MAX_BACKOFF_MS);
  });
});

describe('isCooling and successClears', () => {
  const record = { until: NOW + 1000, failures: 2 };

  it('cools a key until its until, not at it', () => {
    expect([isCooling(record, NOW), isCooling(record, NOW + 1000), isCooling(undefined, NOW)]).toEqual([true, false, false]);
  });

  it('clears a record on a success once its cooldown is over', () => {
    expect(successClears(record, NOW + 1000)).toBe(true);
  });

  it('leaves a running cooldown alone on a success (of a request sent before it began)', () => {
    expect(successClears(record, NOW)).toBe(false);
  });

  it('has nothing to clear without a record', () => {
    expect(successClears(undefined, NOW)).toBe(false);
  });

  it('remembers a record for 30 minutes after its cooldown, for the doubling', () => {
    expect(forgetAt(record)).toBe(NOW + 1000 + FAILURE_MEMORY_MS);
  });

  it('defaults the auth cooldown to ten times cooldownMs', () => {
    expect(defaultAuthCooldownMs(60_000)).toBe(600_000);
  });
});
