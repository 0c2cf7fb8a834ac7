import { All, Controller, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayConfigService } from '../config/gateway-config.service.js';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import { demoAnswer, demoMessage, demoStream } from './demo-anthropic.js';
import { echoOf } from './demo-echo.js';

const MAX_ECHO_BODY = 1024 * 1024;

/**
 * The built-in demo upstreams (`demo: true` in the config): an echo service that answers with what
 * it received (JSON, or a short SSE stream when asked for `text/event-stream`), and a demo model
 * speaking the Anthropic Messages API. Let the example config work offline.
 */
@Controller('_demo')
export class DemoController {
  constructor(private readonly config: GatewayConfigService) {}

  /** The demo model behind the example config's `llm` block (pi-ai posts to `<baseUrl>/v1/messages`). */
  @Post('anthropic/v1/messages')
  async model(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const body = JSON.parse((await this.readBody(req)).toString('utf8') || '{}') as { model?: string; stream?: boolean };
    const answer = demoAnswer(body);
    const model = body.model ?? 'demo';
    if (body.stream) {
      void reply.code(200).header('content-type', 'text/event-stream').send(demoStream(model, answer));
      return;
    }
    void reply.code(200).header('content-type', 'application/json').send(JSON.stringify(demoMessage(model, answer)));
  }

  @All(['echo', 'echo/*'])
  async echo(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const echo = echoOf(req.method, req.url.replace(/^\/_demo\/echo/, '') || '/', req.headers, await this.readBody(req));
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

  private async readBody(req: FastifyRequest): Promise<Buffer> {
    if (!this.config.current.demo) throw new GatewayError(ErrorCode.NotFound, 'Not found');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req.raw as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_ECHO_BODY) throw new GatewayError(ErrorCode.PayloadTooLarge, 'Demo upstream takes at most 1 MiB');
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
}
