import { Logger, type LoggerService } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/gateway-harness.js';
import { createTempDir, inPlaceWrite, type UpdatableConfigFile } from '../../test/support/config-file-updates.js';
import { KEYS, sha256Hex, toYaml, validConfig, type ConfigTree } from '../../test/support/config-fixtures.js';
import { loadConfigFile } from './config-loader.js';
import { ConfigStore } from './config-store.js';
import { GatewayConfigService } from './gateway-config.service.js';

class RecordingLogger implements LoggerService {
  readonly entries: Array<{ level: string; args: unknown[] }> = [];
  log = (...args: unknown[]) => this.entries.push({ level: 'log', args });
  warn = (...args: unknown[]) => this.entries.push({ level: 'warn', args });
  error = (...args: unknown[]) => this.entries.push({ level: 'error', args });
  messages(level: string): unknown[] {
    return this.entries.filter((e) => e.level === level).map((e) => e.args[1]);
  }
}

function configWith(change: (config: ConfigTree) => void = () => undefined): string {
  const config = validConfig();
  change(config);
  return toYaml(config);
}

const aliceOnBeta = configWith((c) => Object.assign(c.users[0], { providerName: 'provider-beta', providerKeyName: 'prod-key' }));

function openFsWatches(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
}

describe('GatewayConfigService', () => {
  const logger = new RecordingLogger();
  let dir: { path: string; remove(): Promise<void> };
  let file: UpdatableConfigFile;
  let service: GatewayConfigService;
  let watchesBeforeBootstrap: number;

  beforeAll(() => Logger.overrideLogger(logger));
  afterAll(() => Logger.overrideLogger(true));

  beforeEach(async () => {
    logger.entries.length = 0;
    dir = await createTempDir();
    file = await inPlaceWrite.create(dir.path, configWith());
    const loaded = await loadConfigFile(file.path, {});
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    service = new GatewayConfigService(new ConfigStore(file.path, loaded.config, (p) => loadConfigFile(p, {})));
    watchesBeforeBootstrap = openFsWatches();
    await service.onApplicationBootstrap();
  });
  afterEach(async () => {
    await service.onModuleDestroy();
    await dir.remove();
  });

  it("serves the store's current snapshot", () => {
    expect(service.current).toBe(service.store.current);
  });

  it('applies a changed file without a restart', async () => {
    await file.update(aliceOnBeta);
    await eventually(() => service.current.usersByKeyDigest.get(sha256Hex(KEYS.alice))?.provider.name === 'provider-beta');
  });

  it('leaves the snapshot a request took before the change as it was', async () => {
    const requestSnapshot = service.current;
    await file.update(aliceOnBeta);
    await eventually(() => service.current !== requestSnapshot);
    expect(requestSnapshot.usersByKeyDigest.get(sha256Hex(KEYS.alice))?.provider.name).toBe('provider-alpha');
  });

  it('logs "config reloaded" with the new hash', async () => {
    await file.update(aliceOnBeta);
    await eventually(() => logger.messages('log').includes('config reloaded'));
    const entry = logger.entries.find((e) => e.args[1] === 'config reloaded')!;
    expect(entry.args[0]).toEqual({ config_hash: service.current.hash });
  });

  it('logs why it rejected a bad file, and keeps the previous config', async () => {
    const before = service.current;
    await file.update(configWith((c) => (c.users[2].providerKeyName = 'backup')));
    await eventually(() => logger.messages('warn').includes('config reload rejected; keeping the previous config'));
    expect(logger.entries.find((e) => e.level === 'warn')!.args[0]).toEqual({
      errors: ['users[2].providerKeyName: "backup" is not a key of provider "provider-alpha"'],
    });
    expect(service.current).toBe(before);
  });

  it('stops watching the file when the module is destroyed', async () => {
    expect(openFsWatches()).toBeGreaterThan(watchesBeforeBootstrap);
    await service.onModuleDestroy();
    await eventually(() => openFsWatches() === watchesBeforeBootstrap);
  });
});
