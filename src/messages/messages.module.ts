import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { MessagesController } from './messages.controller.js';
import { ConversationLogs } from './conversation-logs.js';
import { MessagesService } from './messages.service.js';
import './models/model-map.config.js';

@Module({
  imports: [AuthModule, ProvidersModule],
  controllers: [MessagesController],
  // One conversation log per app, shared with /v1/responses.
  providers: [MessagesService, { provide: ConversationLogs, useFactory: () => new ConversationLogs() }],
  exports: [ConversationLogs],
})
export class MessagesModule {}
