import { Controller, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiKeyGuard, type AuthenticatedRequest } from '../auth/api-key.guard.js';
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
}
