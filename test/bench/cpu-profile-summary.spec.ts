import { describe, expect, it } from 'vitest';
import { areaTimes, selfTimes, summarizeProfile, type CpuProfile } from '../../bench/cpu-profile/cpu-profile-summary.js';

const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });

// Five nodes; samples every 1 ms (time deltas in µs). `handle` runs 3 ms, `write` 2 ms, GC 1 ms, idle 4 ms.
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', '') },
    { id: 2, callFrame: frame('handle', 'file:///srv/piapi/dist/proxy/proxy.service.js', 30) },
    { id: 3, callFrame: frame('write', 'file:///srv/piapi/node_modules/@pinojs/redact/index.js', 9) },
    { id: 4, callFrame: frame('(garbage collector)', '') },
    { id: 5, callFrame: frame('(idle)', '') },
  ],
  samples: [5, 5, 2, 3, 2, 4, 3, 2, 5, 5],
  timeDeltas: Array.from({ length: 10 }, () => 1000),
};

describe('cpu profile summary', () => {
  it('sums self time per function from the sample time deltas', () => {
    const times = selfTimes(profile);
    expect(times.map((t) => [t.name, t.selfMs])).toEqual([
      ['(idle)', 4],
      ['handle', 3],
      ['write', 2],
      ['(garbage collector)', 1],
    ]);
  });

  it('names where a function lives: the package or dist/ path, with a 1-based line', () => {
    const [, handle, write] = selfTimes(profile);
    expect(handle.where).toBe('dist/proxy/proxy.service.js:31');
    expect(write.where).toBe('@pinojs/redact/index.js:10');
    expect(areaTimes([handle, write]).map((a) => a.area)).toEqual(['piapi', '@pinojs/redact']);
  });

  it('leaves out the samples of the first skipMs (start-up)', () => {
    expect(selfTimes(profile, 5).map((t) => [t.name, t.selfMs])).toEqual([
      ['handle', 2],
      ['(idle)', 2],
      ['write', 1],
      ['(garbage collector)', 1],
    ]);
  });

  it('prints percentages of busy time, idle left out', () => {
    const text = summarizeProfile(profile, 1);
    expect(text).toContain('busy 6 ms (idle 4 ms not counted)');
    expect(text).toMatch(/\| +1 \| +3 \| +50\.0% \| handle +\|/);
    expect(text).not.toMatch(/\| write +\|/);
  });
});
