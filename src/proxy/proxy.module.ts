import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { ProxyRoute } from './proxy.route.js';
import { ProxyService } from './proxy.service.js';

@Module({
  imports: [AuthModule, ProvidersModule],
  providers: [ProxyService, ProxyRoute],
})
export class ProxyModule {}
