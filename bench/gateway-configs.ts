import { createHash } from 'node:crypto';
import { LIMITED_KEY } from './servers/passthrough-payloads.js';

/** The piapi key the pass-through load sends: user 0 of every config. */
export const PASSTHROUGH_USER_KEY = userKey(0);
/** The piapi key of the Claude Code user, bound to the Codex provider's JWT. */
export const MESSAGES_USER_KEY = 'piapi-bench-claude-code-user';

export interface GatewayConfigSpec {
  /** Pass-through users on the `bench` provider; half with `apiKey`, half with `apiKeyHash`. */
  users: number;
  /** The pass-through upstream, served as service type `cx`. */
  upstreamUrl?: string;
  /** The fake Codex backend for `/v1/messages`, and the (fake) ChatGPT OAuth JWT for it. */
  codex?: { url: string; jwt: string };
  /**
   * Every limit set for every user (high enough that none refuses) and counted in this Redis: the
   * cost of limits on, with every check the gateway makes.
   */
  limitsRedisUrl?: string;
  /**
   * Pass-through users bound to a key pool instead of one key: `three` keys taking turns
   * (round-robin, none failing), or `failover`: a first key the upstream always refuses with 429
   * and `retry-after: 0`, so every request is sent twice.
   */
  pool?: 'three' | 'failover';
}

/** Limits no bench load reaches: every check runs, none refuses. */
const UNREACHED_LIMITS = '{ requestsPerMinute: 100000000, concurrentRequests: 100000, tokensPerMinute: 1000000000000, tokensPerDay: 1000000000000000 }';

/** The piapi key of pass-through user `i`. */
export function userKey(i: number): string {
  return `piapi-bench-user-${String(i).padStart(6, '0')}`;
}

/** A config file for the gateway under test: log level info, metrics on (they always are). */
export function gatewayConfigYaml(spec: GatewayConfigSpec): string {
  const lines = ['logging: { level: info }', 'shutdownGraceMs: 2000'];
  if (spec.limitsRedisUrl) lines.push(`state: { redis: { url: "${spec.limitsRedisUrl}", keyPrefix: "bench:" } }`, `limits: ${UNREACHED_LIMITS}`);
  lines.push('providers:');
  if (spec.pool === 'three') {
    lines.push('  - name: bench', '    apiKeys: { main: bench-provider-key-not-a-secret, k2: bench-provider-key-two, k3: bench-provider-key-three }');
    lines.push('    keyPools: { team: { keys: [main, k2, k3], strategy: round-robin } }');
  } else if (spec.pool === 'failover') {
    lines.push('  - name: bench', `    apiKeys: { limited: ${LIMITED_KEY}, main: bench-provider-key-not-a-secret }`);
    lines.push('    keyPools: { team: { keys: [limited, main], strategy: fill-first } }');
  } else {
    lines.push('  - name: bench', '    apiKeys: { main: bench-provider-key-not-a-secret }');
  }
  if (spec.upstreamUrl) {
    lines.push('    services:', `      - { type: cx, baseUrl: "${spec.upstreamUrl}", auth: { mode: header, name: Authorization, prefix: "Bearer " } }`);
  }
  if (spec.codex) {
    lines.push(
      '  - name: codex',
      `    apiKeys: { account: "${spec.codex.jwt}" }`,
      `    llm: { provider: openai-codex, api: openai-codex-responses, baseUrl: "${spec.codex.url}", defaultModel: gpt-5.1-codex-mini }`,
    );
  }
  lines.push('users:');
  for (let i = 0; i < spec.users; i++) {
    const key = i % 2 === 0 ? `apiKey: ${userKey(i)}` : `apiKeyHash: "sha256:${sha256(userKey(i))}"`;
    lines.push(`  - { name: user-${String(i).padStart(6, '0')}, ${key}, providerName: bench, providerKeyName: ${spec.pool ? 'team' : 'main'} }`);
  }
  if (spec.codex) {
    lines.push(`  - { name: claude-code, apiKey: ${MESSAGES_USER_KEY}, providerName: codex, providerKeyName: account }`);
    lines.push('models:', '  default: gpt-5.1-codex-mini');
  }
  return `${lines.join('\n')}\n`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
