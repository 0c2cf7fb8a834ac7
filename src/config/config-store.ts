import { loadConfigFile } from './config-loader.js';
import type { GatewayConfig } from './gateway-config.js';

export type ReloadResult = { ok: true; config: GatewayConfig; changed: boolean } | { ok: false; errors: string[] };
export type ReloadListener = (result: ReloadResult) => void;

/**
 * Holds the current config snapshot and replaces it atomically. A request reads `current` once
 * and keeps that snapshot, so a reload never changes a request in flight. A bad file never
 * replaces a good snapshot.
 */
export class ConfigStore {
  private snapshot: GatewayConfig;
  private readonly listeners: ReloadListener[] = [];
  private reloading: Promise<ReloadResult> | undefined;
  private again = false;

  constructor(
    readonly path: string,
    initial: GatewayConfig,
  ) {
    this.snapshot = initial;
  }

  get current(): GatewayConfig {
    return this.snapshot;
  }

  onReload(listener: ReloadListener): void {
    this.listeners.push(listener);
  }

  /** Re-reads the file; reloads requested while one runs coalesce into one more run. */
  reload(): Promise<ReloadResult> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = this.runReload().finally(() => {
      this.reloading = undefined;
      if (this.again) {
        this.again = false;
        void this.reload();
      }
    });
    return this.reloading;
  }

  private async runReload(): Promise<ReloadResult> {
    const loaded = await loadConfigFile(this.path);
    let result: ReloadResult;
    if (loaded.ok) {
      const changed = loaded.config.hash !== this.snapshot.hash;
      if (changed) this.snapshot = loaded.config;
      result = { ok: true, config: this.snapshot, changed };
    } else {
      result = { ok: false, errors: loaded.errors };
    }
    for (const listener of this.listeners) listener(result);
    return result;
  }
}
