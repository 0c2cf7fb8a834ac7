import { describe, expect, it } from 'vitest';
import { isoTimeField } from './iso-time.js';

describe('isoTimeField', () => {
  it('writes what Date#toISOString writes, across milliseconds, seconds, days and years', () => {
    const starts = [Date.UTC(2026, 10, 22, 7, 39, 9, 990), Date.UTC(2026, 11, 31, 23, 59, 59, 0), 0, Date.now()];
    for (const start of starts) {
      for (let t = start; t < start + 2_100; t += 7) {
        expect(isoTimeField(t)).toBe(`,"time":"${new Date(t).toISOString()}"`);
      }
    }
  });

  it('goes back in time as well (a clock set back)', () => {
    const later = Date.UTC(2026, 10, 22, 8, 0, 0, 5);
    const earlier = later - 3_600_000;
    expect(isoTimeField(later)).toBe(`,"time":"${new Date(later).toISOString()}"`);
    expect(isoTimeField(earlier)).toBe(`,"time":"${new Date(earlier).toISOString()}"`);
  });
});
