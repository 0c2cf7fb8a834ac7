import { All, Controller, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiKeyGuard, type AuthenticatedRequest } from '../auth/api-key.guard.js';
import { ProxyService } from './proxy.service.js';

@Controller('piapi')
@UseGuards(ApiKeyGuard)
export class ProxyController {
  constructor(private readonly proxy: ProxyService) {}

  @All([':serviceType', ':serviceType/*'])
  forward(@Req() req: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.proxy.handle(req, reply);
  }
}
