import { createHash } from 'node:crypto';
import type { KeyPoolStrategy } from '../pools/key-order.js';

/** The validated, frozen config snapshot every request reads. Built by config-loader.ts. */

export const DEFAULT_HTTP: HttpSettings = Object.freeze({
  maxBodyBytes: 64 * 1024 * 1024,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 10 * 60_000,
  idleTimeoutMs: 5 * 60_000,
  // Long Claude Code sessions send several MB per request.
  replayBodyBytes: 16 * 1024 * 1024,
});

export const DEFAULT_SHUTDOWN_GRACE_MS = 25_000;

export interface HttpSettings {
  /** Largest request body accepted; larger ones get 413 and nothing reaches the upstream. */
  maxBodyBytes: number;
  connectTimeoutMs: number;
  /** Time from sending the request to the upstream's response headers. */
  headersTimeoutMs: number;
  /** Longest silence allowed in a response body before the stream is cut. */
  idleTimeoutMs: number;
  /**
   * Largest request body kept while it streams to the first upstream, to send it again to the
   * next key of a pool; a larger body is not sent again (the first answer goes to the client).
   */
  replayBodyBytes: number;
}

export type ProviderKey =
  | { kind: 'static'; name: string; value: string }
  | {
      kind: 'oauth';
      name: string;
      /** The provider the key belongs to: with `state.redis` the credentials live under its name. */
      provider: string;
      oauth: string;
      /** Required without `state.redis`; with it, only the seed for Redis when Redis holds none. */
      credentialsFile?: string;
    };

export interface ServiceAuth {
  mode: 'header' | 'query';
  name: string;
  prefix: string;
}

export interface Service {
  type: string;
  /** Absolute base URL, no trailing slash. */
  baseUrl: string;
  origin: string;
  /** Path part of the base URL, no trailing slash ("" for the root). */
  basePath: string;
  auth: ServiceAuth;
  headers: Readonly<Record<string, string>>;
}

export interface LlmSettings {
  provider: string;
  api?: string;
  baseUrl?: string;
  defaultModel?: string;
  headers: Readonly<Record<string, string>>;
}

/** Keys of one provider a request may move between when one is limited or failing (src/pools). */
export interface KeyPool {
  name: string;
  provider: string;
  keys: readonly ProviderKey[];
  strategy: KeyPoolStrategy;
  cooldownMs: number;
  /** The cooldown of a key refused with 401/403. */
  authCooldownMs: number;
}

export interface Provider {
  name: string;
  apiKeys: ReadonlyMap<string, ProviderKey>;
  /** Pool names share one namespace with key names. Absent in providers built without the loader. */
  keyPools?: ReadonlyMap<string, KeyPool>;
  services: ReadonlyMap<string, Service>;
  llm?: LlmSettings;
}

export const LIMIT_NAMES = ['requestsPerMinute', 'concurrentRequests', 'tokensPerMinute', 'tokensPerDay'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/** A user's limits after the defaults and the user's overrides are merged; absent = no limit. */
export type Limits = Readonly<Partial<Record<LimitName, number>>>;

export interface User {
  name: string;
  /** sha256 of the user's piapi key. */
  keyDigest: Buffer;
  provider: Provider;
  /**
   * The provider key named by `providerKeyName`; for a pool, its first key, which features
   * without failover use.
   */
  key: ProviderKey;
  /** The pool named by `providerKeyName`, when it names one. */
  pool?: KeyPool;
  limits: Limits;
}

export interface RedisSettings {
  /** redis:// or rediss:// URL; may hold a password, so it is never logged. */
  url: string;
  keyPrefix: string;
  commandTimeoutMs: number;
  /** What limited requests get while Redis is unreachable: served unchecked, or 503. */
  onError: 'allow' | 'deny';
}

export const DEFAULT_REDIS: Omit<RedisSettings, 'url'> = Object.freeze({ keyPrefix: 'piapi:', commandTimeoutMs: 100, onError: 'allow' });

export interface StateSettings {
  /** Shared state (limit counters, OAuth credentials and their refresh lock); absent = process memory. */
  redis?: RedisSettings;
}

export interface LoggingSettings {
  level: string;
  conversation: boolean;
  conversationFile?: string;
  maxQueueSize: number;
}

export interface GatewayConfig {
  /** Short content hash, to tell which config a replica runs. */
  hash: string;
  listen?: string;
  http: HttpSettings;
  logging: LoggingSettings;
  demo: boolean;
  shutdownGraceMs: number;
  state: StateSettings;
  providers: ReadonlyMap<string, Provider>;
  users: readonly User[];
  /** sha256(user key) hex → user: O(1) lookup whatever the number of users. */
  usersByKeyDigest: ReadonlyMap<string, User>;
  /** Raw model map, interpreted by messages/models. */
  models: Readonly<Record<string, unknown>>;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Freezes `value` and everything reachable from it. `Object.freeze` alone leaves a Map's entries
 * writable, so a frozen Map's `set`, `delete` and `clear` throw too. Typed arrays (a user's key
 * digest) can't be frozen and stay as they are.
 */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    for (const method of ['set', 'delete', 'clear']) {
      Object.defineProperty(value, method, { value: refuseMapWrite(method) });
    }
  }
  Object.freeze(value);
  if (value instanceof Map) for (const v of value.values() as Iterable<unknown>) deepFreeze(v);
  else for (const v of Object.values(value)) deepFreeze(v);
  return value;
}

function refuseMapWrite(method: string): () => never {
  return () => {
    throw new TypeError(`Cannot ${method} entries of a frozen config map`);
  };
}
