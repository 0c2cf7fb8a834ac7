import pino, { type Level, type Logger } from 'pino';

const { lsCacheSym, timeSym, chindingsSym, endSym, streamSym } = pino.symbols;

type LoggerState = Record<symbol, unknown>;

/**
 * Writes one log line through a pino logger from members already serialized (`,"key":value…`),
 * exactly as `logger[level](record, msg)` writes it: pino's level, time, bindings, message and
 * end of line, to pino's destination (json-line.spec.ts holds the two byte for byte equal). It
 * skips pino's generic walk of the record (a hasOwnProperty, serializer and stringifier lookup
 * and an escape scan per key and value): the request line is written once per request, and that
 * walk was most of its cost (bench/RESULTS.md).
 *
 * Only for a logger without serializers, `formatters.log`, hooks or mixin, as the root logger is
 * (observability/logging.module.ts), uses pino.symbols, pino's interface for integrations.
 */
export function writeJsonLine(logger: Logger, level: Level, members: string, msg: string): void {
  if (!logger.isLevelEnabled(level)) return;
  const state = logger as unknown as LoggerState;
  const levelPart = (state[lsCacheSym] as Record<number, string>)[logger.levels.values[level]];
  const time = (state[timeSym] as () => string).call(logger);
  const line = levelPart + time + (state[chindingsSym] as string) + members + ',"msg":' + JSON.stringify(msg) + (state[endSym] as string);
  (state[streamSym] as { write(line: string): unknown }).write(line);
}

/** `,"key":"value"` for a string member (JSON.stringify escapes it). */
export function stringMember(key: string, value: string | undefined): string {
  return value === undefined ? '' : `,"${key}":${JSON.stringify(value)}`;
}

/** `,"key":n` for a number member; a non-finite number is written as null, as pino does. */
export function numberMember(key: string, value: number | undefined): string {
  if (value === undefined) return '';
  return `,"${key}":${Number.isFinite(value) ? String(value) : 'null'}`;
}
