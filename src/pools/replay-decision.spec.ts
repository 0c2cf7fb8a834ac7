import { describe, expect, it } from 'vitest';
import { canReplay, replayPlan } from './replay-decision.js';

const MiB = 1024 * 1024;
const LIMIT = 16 * MiB;

describe('replayPlan', () => {
  it('copies a body declared at most replayBodyBytes', () => {
    expect(replayPlan(String(LIMIT), undefined, LIMIT)).toBe('copy');
  });

  it('does not copy a body declared larger', () => {
    expect(replayPlan(String(20 * MiB), undefined, LIMIT)).toBe('too_large');
  });

  it('copies a chunked body (it may turn out too large as it arrives)', () => {
    expect(replayPlan(undefined, 'chunked', LIMIT)).toBe('copy');
  });

  it('has nothing to copy without a body', () => {
    expect(replayPlan(undefined, undefined, LIMIT)).toBe('no_body');
    expect(replayPlan('0', undefined, LIMIT)).toBe('no_body');
  });
});

describe('canReplay', () => {
  const whole = { ended: true, overflowed: false, failed: false };

  it('replays a complete copy', () => {
    expect(canReplay('copy', whole)).toBe(true);
  });

  it('replays a request without a body', () => {
    expect(canReplay('no_body', undefined)).toBe(true);
  });

  it('does not replay a body that passed the limit while it arrived', () => {
    expect(canReplay('copy', { ...whole, overflowed: true })).toBe(false);
  });

  it('does not replay a body still arriving, or one whose upload failed', () => {
    expect(canReplay('copy', { ...whole, ended: false })).toBe(false);
    expect(canReplay('copy', { ...whole, failed: true })).toBe(false);
  });

  it('never replays a body declared too large', () => {
    expect(canReplay('too_large', whole)).toBe(false);
  });
});
