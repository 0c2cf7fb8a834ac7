import { Injectable } from '@nestjs/common';

/** Readiness as Kubernetes sees it: ready once serving with a valid config, not while draining. */
@Injectable()
export class LifecycleService {
  private state: 'starting' | 'ready' | 'draining' = 'starting';
  private open = 0;

  /** Requests being answered now (counted from arrival to response close). */
  get inflight(): number {
    return this.open;
  }

  requestOpened(): void {
    this.open++;
  }

  requestClosed(): void {
    this.open--;
  }

  get phase(): 'starting' | 'ready' | 'draining' {
    return this.state;
  }

  markReady(): void {
    if (this.state === 'starting') this.state = 'ready';
  }

  markDraining(): void {
    this.state = 'draining';
  }
}
