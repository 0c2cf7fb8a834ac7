import { request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../src/main.js';
import { CONFIG_UPDATE_STYLES, createTempDir, inPlaceWrite, type UpdatableConfigFile } from '../support/config-file-updates.js';
import { KEYS } from '../support/config-fixtures.js';
import { LogCapture, eventually } from '../support/gateway-harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';

interface UserEntry {
  name: string;
  key: string;
  provider: 'provider-alpha' | 'provider-beta';
}

const ALICE: UserEntry = { name: 'Alice', key: KEYS.alice, provider: 'provider-alpha' };
const BOB: UserEntry = { name: 'Bob', key: KEYS.bob, provider: 'provider-alpha' };

/** Two providers on one fake upstream, told apart by path; neither service sets `auth`. */
function configYaml(upstream: string, users: UserEntry[], extra = ''): string {
  const keyName = { 'provider-alpha': 'main-key', 'provider-beta': 'prod-key' };
  return `${extra}
providers:
  - name: provider-alpha
    apiKeys: { main-key: ${KEYS.alphaMain} }
    services:
      - { type: cx, baseUrl: "${upstream}/alpha" }
  - name: provider-beta
    apiKeys: { prod-key: ${KEYS.betaProd} }
    services:
      - { type: cx, baseUrl: "${upstream}/beta" }
users:
${users.map((u) => `  - { name: ${u.name}, apiKey: ${u.key}, providerName: ${u.provider}, providerKeyName: ${keyName[u.provider]} }`).join('\n')}
`;
}

async function statusFor(gateway: RunningGateway, key: string, path = '/piapi/cx/v1/ping'): Promise<number> {
  const res = await request(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  await res.body.dump();
  return res.statusCode;
}

/**
 * One log capture for the whole file: nestjs-pino keeps the first root logger it sees for the
 * rest of the process, so every later gateway here logs to the first gateway's destination.
 */
const logs = new LogCapture();
let firstLineOfTest = 0;

/** The lines with message `msg` logged since the current test began. */
function logged(msg: string): Record<string, unknown>[] {
  return logs.lines
    .slice(firstLineOfTest)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((r) => r.msg === msg);
}

const RELOADED = 'config reloaded';
const REJECTED = 'config reload rejected; keeping the previous config';

describe('config hot reload', () => {
  let upstream: RecordingUpstream;
  let dir: { path: string; remove(): Promise<void> };
  let gateway: RunningGateway | undefined;

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
  });
  afterAll(() => upstream.close());

  beforeEach(async () => {
    upstream.requests.length = 0;
    upstream.setHandler((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url }));
    });
    dir = await createTempDir();
    firstLineOfTest = logs.lines.length;
  });
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    await dir.remove();
  });

  async function start(file: UpdatableConfigFile): Promise<RunningGateway> {
    gateway = await startGateway({ configPath: file.path, listen: '127.0.0.1:0', logDestination: logs });
    return gateway;
  }

  describe.each(CONFIG_UPDATE_STYLES)('when the file changes by $name', (style) => {
    it('serves a new user and refuses a removed one, without a restart', async () => {
      const file = await style.create(dir.path, configYaml(upstream.url, [ALICE]));
      const gw = await start(file);
      expect(await statusFor(gw, ALICE.key)).toBe(200);
      expect(await statusFor(gw, BOB.key)).toBe(401);

      await file.update(configYaml(upstream.url, [BOB]));
      await eventually(async () => (await statusFor(gw, BOB.key)) === 200);
      expect(await statusFor(gw, ALICE.key)).toBe(401);
    });

    it('logs "config reloaded" with the new config hash', async () => {
      const file = await style.create(dir.path, configYaml(upstream.url, [ALICE]));
      const gw = await start(file);
      await file.update(configYaml(upstream.url, [BOB]));
      await eventually(() => logged(RELOADED).length > 0);
      expect(logged(RELOADED)[0]).toMatchObject({ level: 'info', config_hash: gw.store.current.hash });
    });

    const half = configYaml('http://127.0.0.1:1', [ALICE, BOB]);
    it.each([
      ['bad YAML', () => 'providers: [\nusers: {\n', /^YAML line \d+, column \d+: /],
      ['schema errors', (url: string) => configYaml(url, [BOB], 'top: 1'), /^top: unknown field$/],
      ['nothing in it', () => '', /^config file is empty$/],
      // A writer that has flushed half the file: the last flow mapping isn't closed yet.
      ['half written', () => half.slice(0, half.indexOf(`apiKey: ${BOB.key}`) + 12), /^YAML line \d+, column \d+: /],
    ])('keeps serving the old config when the new file has %s, and logs why', async (_case, contents, reason) => {
      const file = await style.create(dir.path, configYaml(upstream.url, [ALICE]));
      const gw = await start(file);
      await file.update(contents(upstream.url));
      await eventually(() => logged(REJECTED).length > 0);
      const [rejection] = logged(REJECTED);
      expect(rejection.level).toBe('warn');
      expect(rejection.errors).toEqual(expect.arrayContaining([expect.stringMatching(reason)]));
      expect(await statusFor(gw, ALICE.key)).toBe(200);
      expect(await statusFor(gw, BOB.key)).toBe(401);
      expect(logged(RELOADED)).toHaveLength(0);
    });

    it('applies a good file that follows a rejected one', async () => {
      const file = await style.create(dir.path, configYaml(upstream.url, [ALICE]));
      const gw = await start(file);
      await file.update('providers: [\n');
      await eventually(() => logged(REJECTED).length > 0);
      await file.update(configYaml(upstream.url, [BOB]));
      await eventually(async () => (await statusFor(gw, BOB.key)) === 200);
      expect(await statusFor(gw, ALICE.key)).toBe(401);
    });
  });

  it('lets a request in flight during a reload finish on the provider it started with', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    upstream.setHandler(async (req, res) => {
      if (req.url?.endsWith('/slow')) await released;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url }));
    });
    const file = await inPlaceWrite.create(dir.path, configYaml(upstream.url, [ALICE]));
    const gw = await start(file);

    const inFlight = request(`${gw.url}/piapi/cx/slow`, { headers: { authorization: `Bearer ${ALICE.key}` } });
    await eventually(() => upstream.requests.some((r) => r.url === '/alpha/slow'));
    await file.update(configYaml(upstream.url, [{ ...ALICE, provider: 'provider-beta' }]));
    await eventually(async () => {
      await statusFor(gw, ALICE.key, '/piapi/cx/fast');
      return upstream.requests.some((r) => r.url === '/beta/fast');
    });
    release();

    const res = await inFlight;
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ url: '/alpha/slow' });
    const slow = upstream.requests.find((r) => r.url === '/alpha/slow')!;
    const fast = upstream.requests.find((r) => r.url === '/beta/fast')!;
    expect(slow.headers.authorization).toBe(`Bearer ${KEYS.alphaMain}`);
    expect(fast.headers.authorization).toBe(`Bearer ${KEYS.betaProd}`);
  });

  it('ends a burst of writes on the last file written, with fewer reloads than writes', async () => {
    const userNumber = (i: number): UserEntry => ({ name: `User ${i}`, key: `piapi-user-burst-${i}-0123456789`, provider: 'provider-alpha' });
    const file = await inPlaceWrite.create(dir.path, configYaml(upstream.url, [userNumber(0)]));
    const gw = await start(file);
    const writes = 50;
    for (let i = 1; i <= writes; i++) await file.update(configYaml(upstream.url, [userNumber(i)]));

    await eventually(async () => (await statusFor(gw, userNumber(writes).key)) === 200);
    expect(gw.store.current.users.map((u) => u.name)).toEqual([`User ${writes}`]);
    expect(await statusFor(gw, userNumber(writes - 1).key)).toBe(401);
    expect(logged(RELOADED).length).toBeLessThan(writes);
  });

  it('sends the provider key as "Authorization: Bearer <key>" to a service without auth', async () => {
    const file = await inPlaceWrite.create(dir.path, configYaml(upstream.url, [ALICE]));
    const gw = await start(file);
    expect(await statusFor(gw, ALICE.key)).toBe(200);
    expect(upstream.requests[0].headers.authorization).toBe(`Bearer ${KEYS.alphaMain}`);
  });

  it('stops watching the config file when the gateway closes', async () => {
    const openFsWatches = () => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
    const before = openFsWatches();
    const file = await inPlaceWrite.create(dir.path, configYaml(upstream.url, [ALICE]));
    const gw = await start(file);
    expect(openFsWatches()).toBeGreaterThan(before);
    await gw.close();
    gateway = undefined;
    await eventually(() => openFsWatches() === before);
  });
});
