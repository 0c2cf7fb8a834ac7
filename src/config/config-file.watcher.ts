import { basename, dirname } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

const DEBOUNCE_MS = 150;

/**
 * Calls `onChange` after the config file may have changed. It watches the file's directory, not
 * the file, so all three real-life updates are seen: an in-place write, an editor's atomic rename,
 * and a Kubernetes ConfigMap volume, where `config.yaml -> ..data/config.yaml` and the `..data`
 * symlink is swapped to a new timestamped directory. A burst of events makes one call.
 */
export class ConfigFileWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly onChange: () => void,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  async start(): Promise<void> {
    const dir = dirname(this.path);
    const file = basename(this.path);
    const watcher = watch(dir, {
      ignoreInitial: true,
      depth: 0,
      followSymlinks: false,
      // Only the config file and the ConfigMap's `..data` link matter; editors' swap files don't.
      ignored: (p: string) => p !== dir && basename(p) !== file && basename(p) !== '..data',
    });
    this.watcher = watcher;
    watcher.on('all', () => this.schedule());
    // Without a listener, an 'error' event (e.g. the directory became unreadable) would crash the process.
    watcher.on('error', (error) => this.onError(error));
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onChange, DEBOUNCE_MS);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.watcher?.close();
  }
}
