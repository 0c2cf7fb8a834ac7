import { Module } from '@nestjs/common';
import { LimitsService } from './limits.service.js';

/** Per-user limits (requests, concurrency, token budgets), counted in the state store. */
@Module({
  providers: [LimitsService],
  exports: [LimitsService],
})
export class LimitsModule {}
