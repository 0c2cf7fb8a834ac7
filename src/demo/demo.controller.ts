import { All, Controller, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayConfigService } from '../config/gateway-config.service.js';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import { echoOf } from './demo-echo.js';

const MAX_ECHO_BODY = 1024 * 1024;

/**
 * The built-in demo upstream (`demo: true` in the config): echoes what it receives, as JSON or as
 * a short SSE stream when asked for `text/event-stream`. Lets the example config work offline.
 */
@Controller('_demo/echo')
export class DemoController {
  constructor(private readonly config: GatewayConfigService) {}

  @All(['', '*'])
  async echo(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!this.config.current.demo) throw new GatewayError(ErrorCode.NotFound, 'Not found');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req.raw as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_ECHO_BODY) throw new GatewayError(ErrorCode.PayloadTooLarge, 'Demo echo takes at most 1 MiB');
      chunks.push(chunk);
    }
    const echo = echoOf(req.method, req.url.replace(/^\/_demo\/echo/, '') || '/', req.headers, Buffer.concat(chunks));
    if (String(req.headers.accept ?? '').includes('text/event-stream')) {
      const events = [
        { type: 'echo.start', method: echo.method, path: echo.path },
        { type: 'echo.request', request: echo },
        { type: 'echo.done' },
      ];
      const body = events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
      void reply.code(200).header('content-type', 'text/event-stream').header('cache-control', 'no-cache').send(body);
      return;
    }
    void reply.code(200).header('content-type', 'application/json').send(JSON.stringify(echo));
  }
}
