import { Controller, Get, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiKeyGuard, type AuthenticatedRequest } from '../auth/api-key.guard.js';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import { ResponsesService } from './responses.service.js';

/** The OpenAI Responses API (Codex posts `<base_url>/responses`, with `base_url` ending in `/v1`). */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class ResponsesController {
  constructor(private readonly responses: ResponsesService) {}

  @Post('responses')
  create(@Req() req: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.responses.create(req, reply);
  }

  /**
   * Codex on its built-in OpenAI provider opens a WebSocket here before posting. A 426 makes it
   * use HTTP at once; to a 404 it reconnects five times with backoff (seconds) on every run.
   */
  @Get('responses')
  websocket(): never {
    throw new GatewayError(ErrorCode.UpgradeRequired, 'piapi serves the Responses API over HTTP only: POST /v1/responses');
  }
}
