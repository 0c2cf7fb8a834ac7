import { loadConfigFile, type LoadResult } from './config-loader.js';
import type { GatewayConfig } from './gateway-config.js';

export type ReloadResult = { ok: true; config: GatewayConfig; changed: boolean } | { ok: false; errors: string[] };
export type ReloadListener = (result: ReloadResult) => void;
export type ConfigLoader = (path: string) => Promise<LoadResult>;

/**
 * Holds the current config snapshot and replaces it atomically. A request reads `current` once
 * and keeps that snapshot, so a reload never changes a request in flight. A bad file never
 * replaces a good snapshot.
 */
export class ConfigStore {
  private snapshot: GatewayConfig;
  private readonly listeners: ReloadListener[] = [];
  /** The last reload started or queued; reloads run one at a time, in order. */
  private tail: Promise<unknown> = Promise.resolve();
  /** A reload waiting for the running one to finish; later requests join it. */
  private queued: Promise<ReloadResult> | undefined;

  constructor(
    readonly path: string,
    initial: GatewayConfig,
    private readonly load: ConfigLoader = loadConfigFile,
  ) {
    this.snapshot = initial;
  }

  get current(): GatewayConfig {
    return this.snapshot;
  }

  onReload(listener: ReloadListener): void {
    this.listeners.push(listener);
  }

  /**
   * Re-reads the file. The result always comes from a read that started after this call, yet a
   * burst of calls costs at most two reads: the one running and one queued, shared by the rest.
   * Never rejects.
   */
  reload(): Promise<ReloadResult> {
    if (this.queued) return this.queued;
    const next = this.tail.then(() => {
      this.queued = undefined;
      return this.runReload();
    });
    this.queued = next;
    this.tail = next;
    return next;
  }

  private async runReload(): Promise<ReloadResult> {
    let result: ReloadResult;
    try {
      const loaded = await this.load(this.path);
      if (loaded.ok) {
        const changed = loaded.config.hash !== this.snapshot.hash;
        if (changed) this.snapshot = loaded.config;
        result = { ok: true, config: this.snapshot, changed };
      } else {
        result = { ok: false, errors: loaded.errors };
      }
    } catch (err) {
      result = { ok: false, errors: [`reload failed: ${err instanceof Error ? err.message : String(err)}`] };
    }
    for (const listener of this.listeners) {
      try {
        listener(result);
      } catch {
        // A listener's failure (e.g. a logger) must not stop the others or the reload chain.
      }
    }
    return result;
  }
}
