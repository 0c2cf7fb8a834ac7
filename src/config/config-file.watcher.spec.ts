import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/gateway-harness.js';
import { CONFIG_UPDATE_STYLES, createTempDir, inPlaceWrite } from '../../test/support/config-file-updates.js';
import { ConfigFileWatcher } from './config-file.watcher.js';

/** fs.watch handles open in this process: what a leaked watcher keeps alive. */
function openFsWatches(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
}

describe('ConfigFileWatcher', () => {
  let dir: { path: string; remove(): Promise<void> };
  let watcher: ConfigFileWatcher | undefined;

  beforeEach(async () => {
    dir = await createTempDir();
  });
  afterEach(async () => {
    await watcher?.close();
    watcher = undefined;
    await dir.remove();
  });

  describe.each(CONFIG_UPDATE_STYLES)('when the file changes by $name', (style) => {
    it('calls back, and the file then reads as the new version', async () => {
      const file = await style.create(dir.path, 'version: 1\n');
      const seen: string[] = [];
      watcher = new ConfigFileWatcher(file.path, () => void readFile(file.path, 'utf8').then((t) => seen.push(t)));
      await watcher.start();
      await file.update('version: 2\n');
      await eventually(() => seen.includes('version: 2\n'));
    });

    it('keeps calling back on later changes', async () => {
      const file = await style.create(dir.path, 'version: 1\n');
      const seen: string[] = [];
      watcher = new ConfigFileWatcher(file.path, () => void readFile(file.path, 'utf8').then((t) => seen.push(t)));
      await watcher.start();
      for (const version of [2, 3, 4]) {
        await file.update(`version: ${version}\n`);
        await eventually(() => seen.includes(`version: ${version}\n`));
      }
    });
  });

  it('calls back fewer times than a burst has writes, and last after the final write', async () => {
    const file = await inPlaceWrite.create(dir.path, 'version: 0\n');
    const seen: string[] = [];
    watcher = new ConfigFileWatcher(file.path, () => void readFile(file.path, 'utf8').then((t) => seen.push(t)));
    await watcher.start();
    const writes = 50;
    for (let i = 1; i <= writes; i++) await file.update(`version: ${i}\n`);
    await eventually(() => seen.at(-1) === `version: ${writes}\n`);
    expect(seen.length).toBeLessThan(writes);
  });

  it('releases its file system watches when closed', async () => {
    const file = await inPlaceWrite.create(dir.path, 'version: 1\n');
    const before = openFsWatches();
    const closing = new ConfigFileWatcher(file.path, () => undefined);
    await closing.start();
    expect(openFsWatches()).toBeGreaterThan(before);
    await closing.close();
    // libuv frees a closed handle on a later turn of the event loop.
    await eventually(() => openFsWatches() === before);
  });

  it('does not call back after it is closed, even for a change made just before', async () => {
    const file = await inPlaceWrite.create(dir.path, 'version: 1\n');
    let calls = 0;
    const closing = new ConfigFileWatcher(file.path, () => calls++);
    await closing.start();
    await file.update('version: 2\n');
    await closing.close();
    // A callback still pending would fire within its debounce; wait longer than that.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(calls).toBe(0);
  });
});
