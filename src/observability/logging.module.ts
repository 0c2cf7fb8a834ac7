import cluster from 'node:cluster';
import { Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino, { type DestinationStream, type Logger } from 'pino';
import { isoTimeField } from './iso-time.js';

export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** The process's one pino logger: JSON lines, ISO time, level names. */
export function createRootLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      // Workers of `--workers` share stdout: each line says which one wrote it.
      base: cluster.isWorker ? { service: 'piapi', pid: process.pid } : { service: 'piapi' },
      timestamp: () => isoTimeField(),
      formatters: { level: (label) => ({ level: label }) },
      // No `redact`: it costs on every line, and no line carries headers, queries or bodies
      // (request lines are built field by field in request-log.ts; the test suite greps for keys).
    },
    destination ?? (cluster.isWorker ? lineStdout() : bufferedStdout()),
  );
}

/**
 * stdout one line per write, for the workers of `--workers`: they share the stdout pipe, and only
 * a write of at most PIPE_BUF bytes (4 KiB) cannot be split by another process's write, so a
 * buffer of many lines could be cut mid-line.
 */
function lineStdout(): DestinationStream {
  return pino.destination({ dest: 1, sync: true });
}

/**
 * stdout through a 16 KiB buffer: one write per ~50 request lines instead of one per line (the
 * log was the largest write cost per proxied request). Flushed every 250 ms, and on shutdown.
 *
 * sonic-boom in its buffer mode, each line encoded as pino hands it over: in its default utf8
 * mode every write measures the byte length of the whole pending string (flattening it), which
 * cost ~3 µs per line with a 16 KiB buffer against ~0.8 µs this way (bench/RESULTS.md).
 */
function bufferedStdout(): DestinationStream {
  const boom = pino.destination({ dest: 1, sync: false, contentMode: 'buffer', minLength: 16 * 1024, maxWrite: 64 * 1024, periodicFlush: 250 });
  process.once('exit', () => boom.flushSync());
  return {
    write: (line: string) => boom.write(Buffer.from(line) as unknown as string),
    flush: (cb?: (err?: Error) => void) => boom.flush(cb),
  } as DestinationStream;
}

/**
 * nestjs-pino as Nest's logger, on the root logger. Its per-request middleware is not mounted:
 * request lines come from Fastify hooks (observability/request-log.ts).
 */
@Module({})
export class LoggingModule {
  static forRoot(logger: Logger): DynamicModule {
    return {
      module: LoggingModule,
      global: true,
      imports: [LoggerModule.forRoot({ pinoHttp: { logger, autoLogging: false }, forRoutes: [] })],
      providers: [{ provide: ROOT_LOGGER, useValue: logger }],
      exports: [ROOT_LOGGER],
    };
  }
}
