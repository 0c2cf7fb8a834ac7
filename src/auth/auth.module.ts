import { Module } from '@nestjs/common';
import { LimitsModule } from '../limits/limits.module.js';
import { ApiKeyGuard } from './api-key.guard.js';

@Module({
  imports: [LimitsModule],
  providers: [ApiKeyGuard],
  // Controllers that use the guard instantiate it in their own module: it needs LimitsService there.
  exports: [ApiKeyGuard, LimitsModule],
})
export class AuthModule {}
