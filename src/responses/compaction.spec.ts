import { describe, expect, it } from 'vitest';
import { decodeCompaction, encodeCompaction, isCompactionRequest } from './compaction.js';
import { validateResponsesRequest } from './responses-request.js';

describe('compaction codec', () => {
  it('carries a summary through encrypted_content unreadable as plain text', () => {
    const encrypted = encodeCompaction('Fixed the parser; next: run the tests in src/.');
    expect(encrypted).toMatch(/^piapi\.c1\.[A-Za-z0-9_-]+$/);
    expect(encrypted).not.toContain('parser');
    expect(decodeCompaction(encrypted)).toBe('Fixed the parser; next: run the tests in src/.');
  });

  it('does not read what piapi did not make: OpenAI compaction blobs and reasoning records', () => {
    expect(decodeCompaction('gAAAAABoQ2xhbXBfb3BlbmFpX2Jsb2I=')).toBeUndefined();
    expect(decodeCompaction('piapi.r1.eyJhIjoiYSJ9')).toBeUndefined();
    expect(decodeCompaction(encodeCompaction('  '))).toBeUndefined();
  });
});

describe('isCompactionRequest', () => {
  it('is a compaction request when the input ends with a compaction_trigger item, as Codex sends it', () => {
    const input = [{ type: 'message', role: 'user', content: 'hi' }, { type: 'compaction_trigger' }];
    expect(isCompactionRequest(validateResponsesRequest({ model: 'm', input }))).toBe(true);
  });

  it('is not one when the trigger is not last, nor for an ordinary turn', () => {
    const input = [{ type: 'compaction_trigger' }, { type: 'message', role: 'user', content: 'hi' }];
    expect(isCompactionRequest(validateResponsesRequest({ model: 'm', input }))).toBe(false);
    expect(isCompactionRequest(validateResponsesRequest({ model: 'm', input: 'hi' }))).toBe(false);
  });

  it('reads the compaction_summary alias of a stored compaction item', () => {
    const request = validateResponsesRequest({ model: 'm', input: [{ type: 'compaction_summary', encrypted_content: 'x' }] });
    expect(request.input).toEqual([{ type: 'compaction', encrypted_content: 'x' }]);
  });
});
