import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig, User } from '../config/gateway-config.js';
import { GatewayConfigService } from '../config/gateway-config.service.js';
import { LimitsService } from '../limits/limits.service.js';
import type { Admission } from '../limits/user-limiter.js';
import { requestFacts } from '../observability/request-facts.js';
import { ConnectionCallers } from './key-resolver.js';

/** What the guard leaves on the request: the caller, the config snapshot it was resolved on, and its admission under the caller's limits. */
export interface AuthenticatedRequest extends FastifyRequest {
  caller: User;
  config: GatewayConfig;
  admission: Admission;
}

/**
 * Resolves the caller's piapi key to a user on the current config snapshot (or answers 401),
 * then admits the request under the user's limits (or answers 429): every route a user key
 * reaches is limited.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly callers = new ConnectionCallers();

  constructor(
    private readonly config: GatewayConfigService,
    private readonly limits: LimitsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const admitting = this.admit(http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
    if (admitting instanceof Promise) await admitting;
    return true;
  }

  /**
   * The guard's work on a bare Fastify request, for routes served outside Nest's router; throws
   * a 401 or 429. Synchronous for a user without limits.
   */
  admit(request: FastifyRequest, reply: FastifyReply): AuthenticatedRequest | Promise<AuthenticatedRequest> {
    const req = this.authenticate(request);
    const admitting = this.limits.admit(req.caller, req.config, reply.raw);
    if (!(admitting instanceof Promise)) {
      req.admission = admitting;
      return req;
    }
    return admitting.then((admission) => {
      req.admission = admission;
      return req;
    });
  }

  private authenticate(request: FastifyRequest): AuthenticatedRequest {
    const req = request as AuthenticatedRequest;
    const config = this.config.current;
    const user = this.callers.resolve(req.raw.socket, config, req.headers);
    req.caller = user;
    req.config = config;
    const facts = requestFacts(req.raw);
    facts.user = user.name;
    facts.provider = user.provider.name;
    return req;
  }
}
