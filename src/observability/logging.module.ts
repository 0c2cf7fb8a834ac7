import { Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino, { type DestinationStream } from 'pino';
import { logPath, requestLogOptions } from './request-log.js';

const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** nestjs-pino: JSON logs, one line per request (probes and scrapes excepted). */
@Module({})
export class LoggingModule {
  static forRoot(level: string, destination?: DestinationStream): DynamicModule {
    const stream = destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 });
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: [
            {
              ...requestLogOptions(),
              level,
              base: { service: 'piapi' },
              timestamp: pino.stdTimeFunctions.isoTime,
              formatters: { level: (label) => ({ level: label }) },
              autoLogging: { ignore: (req) => QUIET_PATHS.has(logPath(req.url)) },
            },
            stream,
          ],
        }),
      ],
    };
  }
}
