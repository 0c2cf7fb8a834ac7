import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { LifecycleService } from './lifecycle.service.js';

@Controller()
export class HealthController {
  constructor(private readonly lifecycle: LifecycleService) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  healthz(): { ok: true } {
    return { ok: true };
  }

  /** Readiness: a valid config is loaded and the gateway is not draining. */
  @Get('readyz')
  readyz(@Res() reply: FastifyReply): void {
    const phase = this.lifecycle.phase;
    void reply.code(phase === 'ready' ? 200 : 503).send({ ready: phase === 'ready', phase });
  }
}
