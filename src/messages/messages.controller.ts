import { Controller, Get, HttpCode, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiKeyGuard, type AuthenticatedRequest } from '../auth/api-key.guard.js';
import { MessagesService } from './messages.service.js';

/** The Anthropic Messages API (Claude Code calls `POST /v1/messages?beta=true`). */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Post('messages')
  create(@Req() req: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.messages.messages(req, reply);
  }

  @Post('messages/count_tokens')
  @HttpCode(200)
  countTokens(@Req() req: AuthenticatedRequest): Promise<{ input_tokens: number }> {
    return this.messages.countTokens(req);
  }

  @Get('models')
  models(@Req() req: AuthenticatedRequest, @Query() query: { limit?: string; after_id?: string; before_id?: string }): unknown {
    return this.messages.models(req, query);
  }
}
