import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { MessagesController } from './messages.controller.js';
import { MessagesService } from './messages.service.js';
import './models/model-map.config.js';

@Module({
  imports: [AuthModule, ProvidersModule],
  controllers: [MessagesController],
  providers: [MessagesService],
})
export class MessagesModule {}
