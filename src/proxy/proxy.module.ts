import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { PROVIDER_KEY_SOURCE, StaticProviderKeySource } from '../providers/provider-key.source.js';
import { ProxyController } from './proxy.controller.js';
import { ProxyService } from './proxy.service.js';

@Module({
  imports: [AuthModule],
  controllers: [ProxyController],
  providers: [ProxyService, { provide: PROVIDER_KEY_SOURCE, useClass: StaticProviderKeySource }],
})
export class ProxyModule {}
