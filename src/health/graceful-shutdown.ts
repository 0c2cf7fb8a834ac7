import type { Server } from 'node:http';

export interface ShutdownPlan {
  server: Server;
  /** Still serving (readiness already 503) so load balancers stop sending first. */
  delayMs: number;
  /** Longest wait for open requests and streams once the listener is closed. */
  graceMs: number;
  /** Requests still being answered. */
  inflight: () => number;
  markDraining: () => void;
  log: (message: string, fields?: Record<string, unknown>) => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Kubernetes-style drain: readiness goes 503 at once, the server keeps serving for `delayMs`
 * while endpoints update, then stops accepting connections and waits for open requests and
 * streams to finish, up to `graceMs`, before cutting what is left.
 */
export async function drain(plan: ShutdownPlan): Promise<{ cut: number }> {
  plan.markDraining();
  plan.log('draining: readiness is now 503', { delay_ms: plan.delayMs, grace_ms: plan.graceMs });
  await sleep(plan.delayMs);
  plan.server.close();
  plan.server.closeIdleConnections();
  const deadline = Date.now() + plan.graceMs;
  while (plan.inflight() > 0 && Date.now() < deadline) {
    await sleep(20);
    // Keep-alive connections that just went idle would hold the server open.
    plan.server.closeIdleConnections();
  }
  const cut = plan.inflight();
  plan.server.closeAllConnections();
  plan.log(cut === 0 ? 'drained: all requests finished' : 'grace period over: cutting open requests', { cut });
  return { cut };
}
