import { Redis } from 'ioredis';
import type { RedisSettings } from '../config/gateway-config.js';

/** What the gateway does with Redis, as the `operation` label of `piapi_state_store_errors_total`. */
export type StateOperation =
  | 'limit_check'
  | 'token_record'
  | 'lease_refresh'
  | 'lease_release'
  | 'outage_flush'
  | 'oauth_read'
  | 'oauth_write'
  | 'oauth_lock'
  | 'cooldown_read'
  | 'cooldown_write';

export interface StateStoreObserver {
  /** The store became reachable (true) or unreachable (false): once per change, never per request. */
  availability(up: boolean, reason: string): void;
  /** An operation that was tried and failed (timed out, refused, connection lost). */
  failure(operation: StateOperation): void;
}

/** Redis could not be asked (known down) or did not answer in time; never holds a secret. */
export class StateStoreUnavailableError extends Error {
  constructor(reason: string) {
    super(`state store unavailable: ${reason}`);
    this.name = 'StateStoreUnavailableError';
  }
}

/** How often a store that stopped answering (while its connection stays open) is asked again. */
const PROBE_EVERY_MS = 500;

/**
 * One Redis connection for a config's `state.redis`, shared by everything that keeps state there.
 * Every operation is bounded by `commandTimeoutMs` (ioredis' own command timeout, and a race for
 * operations of several commands). A failure marks the store down: until Redis answers again
 * (ioredis reconnects by itself; a stalled server is probed), operations fail at once instead
 * of each request waiting for its own timeout. All keys get the configured prefix from ioredis.
 */
export class RedisStateStore {
  readonly client: Redis;
  /** Unknown until the first connection attempt ends either way, so the first state is reported too. */
  private state: 'unknown' | 'up' | 'down' = 'unknown';
  private probe: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly availableListeners: (() => void)[] = [];
  /** Settles when the first connection attempt ends either way. */
  private readonly firstAttempt: Promise<void>;
  private endFirstAttempt: () => void = () => undefined;

  constructor(
    readonly settings: RedisSettings,
    private readonly observer: StateStoreObserver,
  ) {
    this.client = new Redis(settings.url, {
      keyPrefix: settings.keyPrefix,
      commandTimeout: settings.commandTimeoutMs,
      // A command sent while disconnected fails at once rather than waiting in a queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: Math.max(1_000, settings.commandTimeoutMs * 10),
      // Back within about a second of Redis being back.
      retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
      // Commands issued in one tick (a request's checks) leave in one write: one round trip.
      enableAutoPipelining: true,
    });
    this.firstAttempt = new Promise((resolve) => (this.endFirstAttempt = resolve));
    this.client.on('ready', () => this.markUp());
    // ioredis reports connection problems as events; without a listener they would be thrown.
    this.client.on('error', (err: Error) => this.markDown(describe(err)));
    this.client.on('close', () => this.markDown('connection closed'));
  }

  /** Whether operations are tried at all. */
  get available(): boolean {
    return this.state === 'up' && this.client.status === 'ready';
  }

  /** Called each time the store is reachable again (e.g. to write what was kept meanwhile). */
  onAvailable(listener: () => void): void {
    this.availableListeners.push(listener);
  }

  /**
   * Runs `fn` against Redis, at most `commandTimeoutMs` (or `timeoutMs`, for an operation that
   * waits on purpose, like a lock); throws StateStoreUnavailableError otherwise.
   */
  async run<T>(operation: StateOperation, fn: (client: Redis) => Promise<T>, timeoutMs = this.settings.commandTimeoutMs): Promise<T> {
    // Right after start (or a reload to a new Redis) the connection is still being made: wait for
    // it, within the same time budget, instead of failing the first requests.
    if (this.state === 'unknown') await this.connected(timeoutMs);
    if (!this.available) throw new StateStoreUnavailableError(this.closed ? 'closed' : 'not connected');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
    });
    try {
      return await Promise.race([fn(this.client), timeout]);
    } catch (err) {
      const reason = describe(err);
      this.observer.failure(operation);
      this.markDown(reason);
      throw new StateStoreUnavailableError(reason);
    } finally {
      clearTimeout(timer);
    }
  }

  private async connected(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.firstAttempt, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.endFirstAttempt();
    clearInterval(this.probe);
    this.probe = undefined;
    this.client.removeAllListeners('ready');
    this.client.removeAllListeners('close');
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  private markUp(): void {
    if (this.closed) return;
    clearInterval(this.probe);
    this.probe = undefined;
    this.endFirstAttempt();
    if (this.state === 'up') return;
    this.state = 'up';
    this.observer.availability(true, 'connected');
    for (const listener of this.availableListeners) listener();
  }

  private markDown(reason: string): void {
    if (this.closed) return;
    // A server that stalls keeps its connection open: nothing would tell us it is back.
    if (this.client.status === 'ready' && !this.probe) {
      this.probe = setInterval(() => void this.ping(), PROBE_EVERY_MS);
      this.probe.unref();
    }
    this.endFirstAttempt();
    if (this.state === 'down') return;
    this.state = 'down';
    this.observer.availability(false, reason);
  }

  private async ping(): Promise<void> {
    if (this.client.status !== 'ready') {
      // Disconnected: ioredis reconnects and 'ready' marks the store up.
      clearInterval(this.probe);
      this.probe = undefined;
      return;
    }
    try {
      await this.client.ping();
      this.markUp();
    } catch {
      // Still stalled; the next probe tries again.
    }
  }
}

/** An error as a short reason for the log: ioredis' messages name hosts and ports, never the password. */
function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/redis(s?):\/\/[^@\s]*@/g, 'redis$1://').slice(0, 200);
}
