import type { DestinationStream } from 'pino';
import { describe, expect, it } from 'vitest';
import { writeJsonLine } from './json-line.js';
import { createRootLogger } from './logging.module.js';
import { requestLineMembers, type RequestRecord } from './request-log.js';

function capture(level = 'info') {
  const lines: string[] = [];
  const destination: DestinationStream = { write: (line: string) => void lines.push(line) };
  return { logger: createRootLogger(level, destination), lines };
}

const RECORD: RequestRecord = {
  request_id: '5f0c1a52-3d6e-4bde-9d7c-0b7f3f6b2a11',
  method: 'POST',
  path: '/piapi/cx/v1/responses',
  status: 200,
  duration_ms: 12.345,
  user: 'alice',
  service_type: 'cx',
  upstream_provider: 'openai',
  provider_key: 'acct-1',
  attempts: 2,
  model: 'gpt-5.1-codex',
  bytes_in: 1234,
  bytes_out: 56789,
  outcome: undefined,
};

// Members that need escaping, are missing, or are not finite.
const ODD: RequestRecord[] = [
  { ...RECORD, path: '/piapi/cx/a"b\\c', user: 'tab\there', model: 'naïve-模型', outcome: 'client_closed' },
  { ...RECORD, path: '/piapi/cx/\u0001\u001f', user: undefined, service_type: undefined, upstream_provider: undefined, model: undefined },
  { ...RECORD, status: 0, duration_ms: Number.NaN, bytes_in: Number.POSITIVE_INFINITY, bytes_out: 0 },
];

describe('writeJsonLine', () => {
  it("writes a request line byte for byte as pino's own info/warn/error would", () => {
    for (const record of [RECORD, ...ODD]) {
      for (const level of ['info', 'warn', 'error'] as const) {
        const viaPino = capture();
        viaPino.logger[level]({ ...record }, 'request completed');
        const direct = capture();
        writeJsonLine(direct.logger, level, requestLineMembers(record), 'request completed');
        // The time field may tick between the two writes: compare with it masked, then the rest.
        const mask = (line: string) => line.replace(/"time":"[^"]+"/, '"time":"T"');
        expect(mask(direct.lines[0])).toBe(mask(viaPino.lines[0]));
        expect(JSON.parse(direct.lines[0])).toMatchObject({ level, msg: 'request completed', request_id: record.request_id });
      }
    }
  });

  it('writes nothing below the logger level', () => {
    const { logger, lines } = capture('warn');
    writeJsonLine(logger, 'info', requestLineMembers(RECORD), 'request completed');
    writeJsonLine(logger, 'warn', requestLineMembers(RECORD), 'request completed');
    expect(lines.map((line) => (JSON.parse(line) as { level: string }).level)).toEqual(['warn']);
  });
});
