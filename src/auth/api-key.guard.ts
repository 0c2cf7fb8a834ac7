import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { GatewayConfig, User } from '../config/gateway-config.js';
import { GatewayConfigService } from '../config/gateway-config.service.js';
import { requestFacts } from '../observability/request-facts.js';
import { ConnectionCallers } from './key-resolver.js';

/** What the guard leaves on the request: the caller and the config snapshot it was resolved on. */
export interface AuthenticatedRequest extends FastifyRequest {
  caller: User;
  config: GatewayConfig;
}

/** Resolves the caller's piapi key to a user on the current config snapshot, or answers 401. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly callers = new ConnectionCallers();

  constructor(private readonly config: GatewayConfigService) {}

  canActivate(context: ExecutionContext): boolean {
    this.authenticate(context.switchToHttp().getRequest<FastifyRequest>());
    return true;
  }

  /** The guard's work on a bare Fastify request, for routes served outside Nest's router; throws a 401. */
  authenticate(request: FastifyRequest): AuthenticatedRequest {
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
