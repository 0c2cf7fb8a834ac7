import { Global, Module } from '@nestjs/common';
import { StateService } from './state.service.js';

/** The shared state store (Redis, when configured) for every feature that keeps state across replicas. */
@Global()
@Module({
  providers: [StateService],
  exports: [StateService],
})
export class StateModule {}
