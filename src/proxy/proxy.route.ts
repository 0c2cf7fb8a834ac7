import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyGuard } from '../auth/api-key.guard.js';
import { answerError } from '../errors/gateway-exception.filter.js';
import { ProxyService } from './proxy.service.js';

/**
 * `/piapi/*`, mounted as a plain Fastify route rather than a Nest controller: the pass-through is
 * the hottest path, and Nest's router (execution context, guard consumer, promise wrapping) cost
 * ~8-10 µs of a ~155 µs request in the bench (bench/RESULTS.md). It runs the same guard (caller and limits) and
 * answers errors through the same code as the exception filter.
 */
@Injectable()
export class ProxyRoute implements OnModuleInit {
  private readonly logger = new Logger('Errors');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly auth: ApiKeyGuard,
    private readonly proxy: ProxyService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.all('/piapi/*', (req, reply) => this.forward(req, reply));
  }

  private async forward(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      const admitting = this.auth.admit(req, reply);
      await this.proxy.handle(admitting instanceof Promise ? await admitting : admitting, reply);
    } catch (err) {
      answerError(err, req, reply, this.logger);
    }
  }
}
