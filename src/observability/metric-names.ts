/** Metric names and label sets: one place, so dashboards, alerts and tests agree. */
export const METRIC = {
  requests: 'piapi_requests_total',
  latency: 'piapi_request_latency_seconds',
  inflight: 'piapi_inflight_requests',
  firstByte: 'piapi_stream_first_byte_seconds',
  upstreamErrors: 'piapi_upstream_errors_total',
  tokens: 'piapi_tokens_total',
  configReloads: 'piapi_config_reloads_total',
  configInfo: 'piapi_config_info',
  conversationLogDropped: 'piapi_conversation_log_dropped_total',
  rateLimited: 'piapi_rate_limited_total',
  stateStoreUp: 'piapi_state_store_up',
  stateStoreErrors: 'piapi_state_store_errors_total',
  upstreamAttempts: 'piapi_upstream_attempts_total',
  providerKeyAvailable: 'piapi_provider_key_available',
  providerKeyCooldown: 'piapi_provider_key_cooldown_seconds',
  keyPoolKeys: 'piapi_key_pool_keys',
  keyPoolAvailableKeys: 'piapi_key_pool_available_keys',
} as const;

/** 5 ms to 10 min: LLM calls are long. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export type UpstreamErrorReason = 'connect' | 'timeout' | '5xx' | '429' | 'aborted';
export type TokenType = 'input' | 'output' | 'cache_read' | 'cache_write';

/** Fixed names for the non-proxy routes; everything else is bounded to a configured type. */
const ROUTE_LABELS: Record<string, string> = {
  '/v1/messages': 'messages',
  '/v1/messages/count_tokens': 'count_tokens',
  '/v1/models': 'models',
  '/v1/responses': 'responses',
  '/v1/responses/compact': 'responses_compact',
};

/**
 * The `service_type` label for a request path: a configured pass-through type, a fixed route name,
 * or `other`. Never a raw path segment, so clients cannot create label values.
 */
export function serviceTypeLabel(path: string, knownTypes: ReadonlySet<string>): string {
  if (path.startsWith('/piapi/')) {
    const end = path.indexOf('/', 7);
    const type = end === -1 ? path.slice(7) : path.slice(7, end);
    return knownTypes.has(type) ? type : 'unknown';
  }
  return ROUTE_LABELS[path] ?? 'other';
}

export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}
