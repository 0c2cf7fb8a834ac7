import { describe, expect, it } from 'vitest';
import { parseWorkerCount } from './worker-pool.js';

describe('parseWorkerCount', () => {
  it('is 1 when not given', () => {
    expect(parseWorkerCount(undefined, 8)).toBe(1);
    expect(parseWorkerCount('', 8)).toBe(1);
  });

  it('takes a count from 1 to 256', () => {
    expect(parseWorkerCount('1', 8)).toBe(1);
    expect(parseWorkerCount('3', 8)).toBe(3);
    expect(parseWorkerCount('256', 8)).toBe(256);
  });

  it('makes "auto" one worker per CPU', () => {
    expect(parseWorkerCount('auto', 2)).toBe(2);
    expect(parseWorkerCount('auto', 0)).toBe(1);
  });

  it('refuses anything else', () => {
    for (const bad of ['0', '257', '-1', '1.5', 'two', ' 2', '2x']) {
      expect(() => parseWorkerCount(bad, 8)).toThrow(/invalid worker count/);
    }
  });
});
