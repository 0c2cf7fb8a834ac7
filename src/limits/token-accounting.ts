import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { TokenUsage } from '../observability/usage-tap.js';
import type { Admission } from './user-limiter.js';

/**
 * A request's tokens, into `piapi_tokens_total` and into its user's token budgets: one call,
 * so the budgets count exactly what the metric counts (input, cache read, cache write, output).
 */
export function accountTokens(
  metrics: GatewayMetrics,
  admission: Admission | undefined,
  user: string,
  provider: string,
  usage: TokenUsage,
  fallbackModel?: string,
): void {
  metrics.tokens(user, provider, usage, fallbackModel);
  admission?.used(usage.input + usage.cacheRead + usage.cacheWrite + usage.output);
}
