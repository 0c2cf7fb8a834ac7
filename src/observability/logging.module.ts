import cluster from 'node:cluster';
import { writeSync } from 'node:fs';
import { Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino, { type DestinationStream, type Logger } from 'pino';
import { isoTimeField } from './iso-time.js';
import { LineWriter } from './line-writer.js';

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
 * stdout through a buffer: one write per ~40 request lines instead of one per line (the log was
 * the largest write cost per proxied request). Flushed every 250 ms, and at exit.
 */
function bufferedStdout(): DestinationStream {
  const writer = new LineWriter(1, (err) => {
    try {
      writeSync(2, `piapi: stdout failed (${err.code ?? err.message}); logging stopped\n`);
    } catch {
      // stderr is gone too: nothing left to tell.
    }
  });
  setInterval(() => writer.flush(), 250).unref();
  process.once('exit', () => writer.flushSync());
  return writer;
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
