import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempDir } from '../../test/support/config-file-updates.js';
import { KEYS, sha256Hex, toYaml, validConfig, type ConfigTree } from '../../test/support/config-fixtures.js';
import { loadConfigFile, parseConfig, type LoadResult } from './config-loader.js';
import { ConfigStore, type ReloadResult } from './config-store.js';
import type { GatewayConfig } from './gateway-config.js';

function configWith(change: (config: ConfigTree) => void = () => undefined): string {
  const config = validConfig();
  change(config);
  return toYaml(config);
}

function parsed(text: string): GatewayConfig {
  const result = parseConfig(text, {});
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

/** Alice moves from provider-alpha to provider-beta. */
const aliceOnBeta = configWith((c) => Object.assign(c.users[0], { providerName: 'provider-beta', providerKeyName: 'prod-key' }));

/** A loader whose loads the test finishes by hand, to see how reloads overlap. */
class ManualLoader {
  readonly pending: Array<(result: LoadResult) => void> = [];
  readonly load = (): Promise<LoadResult> => new Promise((resolve) => this.pending.push(resolve));
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

describe('ConfigStore', () => {
  let dir: { path: string; remove(): Promise<void> };
  let path: string;

  beforeEach(async () => {
    dir = await createTempDir();
    path = join(dir.path, 'config.yaml');
    await writeFile(path, configWith());
  });
  afterEach(() => dir.remove());

  async function storeFromFile(): Promise<ConfigStore> {
    const loaded = await loadConfigFile(path, {});
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    return new ConfigStore(path, loaded.config, (p) => loadConfigFile(p, {}));
  }

  it('serves the snapshot it was created with', async () => {
    const store = await storeFromFile();
    expect(store.current.users.map((u) => u.name)).toEqual(['Alice', 'Bob', 'Carol']);
  });

  it('swaps in the new snapshot after the file changed', async () => {
    const store = await storeFromFile();
    await writeFile(path, aliceOnBeta);
    const result = await store.reload();
    expect(result).toMatchObject({ ok: true, changed: true });
    expect(store.current.users[0].provider.name).toBe('provider-beta');
  });

  it('keeps the same snapshot when the file did not change', async () => {
    const store = await storeFromFile();
    const before = store.current;
    expect(await store.reload()).toMatchObject({ ok: true, changed: false });
    expect(store.current).toBe(before);
  });

  it('leaves a snapshot taken before a reload exactly as it was', async () => {
    const store = await storeFromFile();
    const taken = store.current;
    await writeFile(path, aliceOnBeta);
    await store.reload();
    expect(store.current).not.toBe(taken);
    expect(taken).toEqual(parsed(configWith()));
  });

  it('lets a request that resolved its user before a reload keep that provider and key', async () => {
    const store = await storeFromFile();
    const requestSnapshot = store.current;
    const alice = requestSnapshot.usersByKeyDigest.get(sha256Hex(KEYS.alice))!;
    await writeFile(path, aliceOnBeta);
    await store.reload();
    expect(alice.provider.name).toBe('provider-alpha');
    expect(alice.key).toMatchObject({ name: 'main-key', value: KEYS.alphaMain });
    expect(store.current.usersByKeyDigest.get(sha256Hex(KEYS.alice))!.provider.name).toBe('provider-beta');
  });

  it.each([
    ['bad YAML', 'providers: [\n'],
    ['schema errors', configWith((c) => (c.users[2].providerKeyName = 'backup'))],
    ['an empty file', ''],
    ['a half-written file', configWith().slice(0, configWith().indexOf('users:') + 20)],
  ])('keeps the current snapshot when the file has %s, and says why', async (_case, text) => {
    const store = await storeFromFile();
    const before = store.current;
    await writeFile(path, text);
    const result = await store.reload();
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors).not.toHaveLength(0);
    expect(store.current).toBe(before);
  });

  it('keeps the current snapshot when the file is gone', async () => {
    const store = await storeFromFile();
    const before = store.current;
    await dir.remove();
    expect(await store.reload()).toEqual({ ok: false, errors: [`cannot read ${path}: ENOENT`] });
    expect(store.current).toBe(before);
  });

  it('tells every listener the result of each reload', async () => {
    const store = await storeFromFile();
    const seen: ReloadResult[][] = [[], []];
    store.onReload((r) => seen[0].push(r));
    store.onReload((r) => seen[1].push(r));
    await writeFile(path, '');
    await store.reload();
    expect(seen).toEqual([[{ ok: false, errors: ['config file is empty'] }], [{ ok: false, errors: ['config file is empty'] }]]);
  });

  it('still reloads, and tells the other listeners, when a listener throws', async () => {
    const store = await storeFromFile();
    const seen: ReloadResult[] = [];
    store.onReload(() => {
      throw new Error('logger broke');
    });
    store.onReload((r) => seen.push(r));
    await writeFile(path, aliceOnBeta);
    await expect(store.reload()).resolves.toMatchObject({ ok: true, changed: true });
    expect(seen).toHaveLength(1);
  });

  it('turns a loader that throws into a failed reload instead of a rejection', async () => {
    const store = new ConfigStore(path, parsed(configWith()), () => Promise.reject(new Error('disk on fire')));
    await expect(store.reload()).resolves.toEqual({ ok: false, errors: ['reload failed: disk on fire'] });
  });

  it('runs reloads asked for during a running one as a single extra load', async () => {
    const loader = new ManualLoader();
    const store = new ConfigStore(path, parsed(configWith()), loader.load);
    const first = store.reload();
    await settle();
    const during = [store.reload(), store.reload(), store.reload()];
    await settle();
    expect(loader.pending).toHaveLength(1);
    loader.pending[0]({ ok: true, config: parsed(configWith()) });
    await first;
    await settle();
    expect(loader.pending).toHaveLength(2);
    loader.pending[1]({ ok: true, config: parsed(aliceOnBeta) });
    const results = await Promise.all(during);
    expect(new Set(results).size).toBe(1);
    expect(store.current.users[0].provider.name).toBe('provider-beta');
    await settle();
    expect(loader.pending).toHaveLength(2);
  });

  it('answers each reload with a load that started after it was asked for', async () => {
    const loader = new ManualLoader();
    const store = new ConfigStore(path, parsed(configWith()), loader.load);
    void store.reload();
    await settle();
    // The file changes while the first load is already running: its result can't show the change.
    const afterChange = store.reload();
    loader.pending[0]({ ok: true, config: parsed(configWith()) });
    await settle();
    loader.pending[1]({ ok: true, config: parsed(aliceOnBeta) });
    expect(await afterChange).toMatchObject({ ok: true, changed: true });
  });

  it('ends a burst of writes and reloads on the last file written', async () => {
    const store = await storeFromFile();
    const reloads: Promise<ReloadResult>[] = [];
    for (let i = 0; i < 30; i++) {
      await writeFile(path, configWith((c) => (c.users[0].name = `Alice ${i}`)));
      reloads.push(store.reload());
    }
    await Promise.all(reloads);
    expect(store.current.users[0].name).toBe('Alice 29');
  });
});
