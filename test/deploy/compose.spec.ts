import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Redis } from 'ioredis';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config-loader.js';
import { parseListen } from '../../src/main.js';
import { freePort } from '../support/free-port.js';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { ensureRedisServer, type RedisLookup } from './support/redis.js';
import { composeDefault, isRepoDirectory, isRepoFile, readRepoFile, readYaml } from './support/repo-files.js';
import { configPathOf, imageFacts, listenOf } from './support/start-command.js';

interface ComposeService {
  build?: string | { context: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string | null>;
  volumes?: string[];
  ports?: string[];
  stop_grace_period?: string;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test: string[] | string; interval?: string; timeout?: string; retries?: number };
}

interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = readYaml<Compose>('docker-compose.yml');
const { piapi, prometheus, grafana, redis } = compose.services;
/** Redis's port when its command sets none. */
const REDIS_DEFAULT_PORT = 6379;

interface Mount {
  source: string;
  target: string;
  bind: boolean;
}

/** Short-syntax volumes; bind mounts' sources relative to the repo root, `${VAR:-default}` at its default. */
function mounts(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((spec) => {
    const [source, target] = composeDefault(spec).split(':');
    const bind = source.startsWith('.') || source.startsWith('/');
    return { source: bind ? posix.normalize(source) : source, target, bind };
  });
}

/** The host path a container path comes from, through the service's bind mounts (longest match). */
function hostPath(service: ComposeService, containerPath: string): string | undefined {
  const mount = mounts(service)
    .filter((m) => m.bind && (containerPath === m.target || containerPath.startsWith(`${m.target}/`)))
    .sort((a, b) => b.target.length - a.target.length)[0];
  return mount && posix.join(mount.source, posix.relative(mount.target, containerPath));
}

function durationSeconds(text: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`unsupported duration ${text}`);
  return Number(match[1]) / { ms: 1000, s: 1, m: 1 / 60 }[match[2] as 'ms' | 's' | 'm'];
}

const piapiEnv = new Map(imageFacts().env);
for (const [name, value] of Object.entries(piapi.environment ?? {})) if (value !== null) piapiEnv.set(name, value);
const piapiStart = { argv: [...imageFacts().entrypoint, ...(piapi.command ?? imageFacts().cmd)], env: piapiEnv };
/** piapi's config file as compose mounts it, and the environment compose gives the container. */
const composeConfigText = readRepoFile(hostPath(piapi, configPathOf(piapiStart)!)!);
const composeEnv = Object.fromEntries(piapiEnv);

/** The value of `--flag value` in an argv, if set. */
function flagValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i === -1 ? undefined : argv[i + 1];
}

describe('docker-compose.yml', () => {
  it('runs piapi, Redis, Prometheus and Grafana, piapi built from this repository', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'piapi', 'prometheus', 'redis']);
    expect(piapi.build).toBe('.');
  });

  it('pins the Redis, Prometheus and Grafana images to a version', () => {
    for (const service of [redis, prometheus, grafana]) expect(service.image).toMatch(/:v?\d+\.\d+\.\d+$/);
  });

  it("Redis is the official redis 7 image, without persistence, checked with redis-cli ping, not published", () => {
    expect(redis.image).toMatch(/^redis:7\.\d+\.\d+$/);
    expect(redis.build).toBeUndefined();
    expect(redis.volumes ?? []).toEqual([]);
    const argv = redis.command ?? [];
    expect(argv[0]).toBe('redis-server');
    expect(flagValue(argv, '--save')).toBe('');
    expect(flagValue(argv, '--appendonly')).toBe('no');
    const test = redis.healthcheck?.test;
    expect(Array.isArray(test) ? test : [], 'healthcheck test in exec form').toEqual(['CMD', 'redis-cli', 'ping']);
    expect(redis.ports).toBeUndefined();
  });

  it('piapi waits for a healthy Redis and reaches it through REDIS_URL, which its config reads', () => {
    const dependsOn = piapi.depends_on;
    expect(Array.isArray(dependsOn) ? undefined : dependsOn?.redis?.condition).toBe('service_healthy');
    const url = new URL(composeEnv.REDIS_URL);
    expect(url.protocol).toBe('redis:');
    expect(url.hostname).toBe('redis');
    expect(Number(url.port || REDIS_DEFAULT_PORT)).toBe(Number(flagValue(redis.command ?? [], '--port') ?? REDIS_DEFAULT_PORT));
    const result = parseConfig(composeConfigText, composeEnv);
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config.state.redis?.url).toBe(composeEnv.REDIS_URL);
    // Without REDIS_URL the config does not load: compose must set it.
    const unset = parseConfig(composeConfigText, { ...composeEnv, REDIS_URL: undefined });
    expect(unset.ok ? [] : unset.errors.join('\n')).toMatch(/REDIS_URL/);
  });

  it('mounts only host paths that exist, and named volumes it declares', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const mount of mounts(service)) {
        if (mount.bind) expect(isRepoFile(mount.source) || isRepoDirectory(mount.source), `${name}: ${mount.source}`).toBe(true);
        else expect(Object.keys(compose.volumes ?? {}), `${name}: volume ${mount.source}`).toContain(mount.source);
      }
    }
  });

  it("mounts piapi's config directory, not the file, so edits saved by rename reach the container", () => {
    const configPath = configPathOf(piapiStart)!;
    const mount = mounts(piapi).find((m) => m.target === posix.dirname(configPath));
    expect(mount?.bind).toBe(true);
    expect(isRepoDirectory(mount!.source)).toBe(true);
    expect(isRepoFile(hostPath(piapi, configPath)!)).toBe(true);
  });

  it("the mounted config passes the app's validator with the environment compose sets", () => {
    const result = parseConfig(composeConfigText, composeEnv);
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it('publishes the port piapi listens on', () => {
    const port = parseListen(listenOf(piapiStart)!).port;
    expect(piapi.ports).toContain(`${port}:${port}`);
  });

  it('gives piapi longer to stop than its config lets streams drain', () => {
    const result = parseConfig(composeConfigText, composeEnv);
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(durationSeconds(piapi.stop_grace_period!)).toBeGreaterThan(result.config.shutdownGraceMs / 1000);
  });

  it('Prometheus loads deploy/prometheus/prometheus.yml, which scrapes piapi on its port', () => {
    const configFlag = prometheus.command!.find((a) => a.startsWith('--config.file='))!.split('=')[1];
    expect(hostPath(prometheus, configFlag)).toBe('deploy/prometheus/prometheus.yml');
    const config = readYaml<{ scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[] }>(
      'deploy/prometheus/prometheus.yml',
    );
    const job = config.scrape_configs.find((j) => j.job_name === 'piapi')!;
    expect(job.metrics_path ?? '/metrics').toBe('/metrics');
    const port = parseListen(listenOf(piapiStart)!).port;
    expect(job.static_configs.flatMap((s) => s.targets)).toEqual([`piapi:${port}`]);
  });

  it('Grafana gets the provisioned datasource, dashboard provider and the dashboard file', () => {
    const datasources = hostPath(grafana, '/etc/grafana/provisioning/datasources');
    const dashboards = hostPath(grafana, '/etc/grafana/provisioning/dashboards');
    expect(datasources).toBe('deploy/grafana/provisioning/datasources');
    expect(dashboards).toBe('deploy/grafana/provisioning/dashboards');

    const provider = readYaml<{ providers: { options: { path: string } }[] }>(dashboards!, 'piapi.yaml').providers[0];
    const dashboardDir = hostPath(grafana, provider.options.path);
    expect(dashboardDir && isRepoFile(dashboardDir, 'piapi-dashboard.json')).toBe(true);

    const home = grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(home && hostPath(grafana, home)).toBe('deploy/grafana/piapi-dashboard.json');
  });

  it("Grafana's datasource points at the Prometheus service", () => {
    const ds = readYaml<{ datasources: { type: string; url: string }[] }>(
      'deploy/grafana/provisioning/datasources/prometheus.yaml',
    ).datasources;
    expect(ds).toEqual([expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090' })]);
    expect(prometheus.ports).toContain('9090:9090');
  });
});

/**
 * The redis service's command on a real redis-server (Debian's, as scripts/setup-redis.sh
 * installs it; the image's is the same program), its healthcheck against it, and piapi booted
 * with the compose config and REDIS_URL pointing there.
 */
describe('the compose Redis service and piapi on a real redis-server', () => {
  let redisLookup: RedisLookup;
  let server: ChildProcess | undefined;
  let port = 0;
  let gw: TestGateway | undefined;
  let client: Redis | undefined;
  let dir: string | undefined;
  const savedRedisUrl = process.env.REDIS_URL;

  beforeAll(async () => {
    redisLookup = ensureRedisServer();
    if (redisLookup.skipReason !== undefined) {
      console.warn(`skipping the compose Redis checks: ${redisLookup.skipReason}`);
      return;
    }
    port = await freePort();
    // The service's command as compose runs it, on a free port of 127.0.0.1 instead of 6379.
    const [binary, ...args] = redis.command!;
    // In a directory of its own: were the command to turn persistence on, its files land there.
    dir = mkdtempSync(join(tmpdir(), 'piapi-compose-redis-'));
    server = spawn(binary, [...args, '--port', String(port), '--bind', '127.0.0.1'], { stdio: 'ignore', cwd: dir });
    client = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, retryStrategy: (n) => (n > 50 ? null : 100) });
    client.on('error', () => undefined);
    await eventually(async () => (await client!.ping().catch(() => '')) === 'PONG', 10_000);
  }, 600_000);

  afterAll(async () => {
    await gw?.stop();
    client?.disconnect();
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGKILL');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (savedRedisUrl === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = savedRedisUrl;
  });

  it('runs the redis command with persistence off', async (ctx) => {
    ctx.skip(redisLookup.skipReason !== undefined, redisLookup.skipReason);
    expect(await client!.config('GET', 'save')).toEqual(['save', '']);
    expect(await client!.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
  });

  it("answers the healthcheck's redis-cli ping with PONG, and it fails with no server", (ctx) => {
    ctx.skip(redisLookup.skipReason !== undefined, redisLookup.skipReason);
    const [, cli, ...args] = redis.healthcheck!.test as string[];
    const healthy = spawnSync(cli, ['-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 });
    expect([healthy.status, healthy.stdout.trim()]).toEqual([0, 'PONG']);
    // redis-cli exits non-zero when nothing answers, so compose would keep piapi waiting.
    const none = spawnSync(cli, ['-p', '1', ...args], { encoding: 'utf8', timeout: 10_000 });
    expect(none.status).not.toBe(0);
  });

  it('piapi with the compose config keeps its state there: state store up, limits counted in Redis', async (ctx) => {
    ctx.skip(redisLookup.skipReason !== undefined, redisLookup.skipReason);
    // compose's REDIS_URL with the service's host and port replaced by this test's server.
    const url = new URL(composeEnv.REDIS_URL);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    process.env.REDIS_URL = url.toString();
    gw = await startTestGateway(composeConfigText);
    await eventually(async () => /^piapi_state_store_up 1$/m.test(await (await fetch(`${gw!.url}/metrics`)).text()), 10_000);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);

    // The demo user's request is counted against its requestsPerMinute in Redis (its upstream,
    // the demo echo on :9200, need not answer here: the count is taken before).
    const { users } = parse(composeConfigText) as { users: { name: string; apiKey: string }[] };
    const demoKey = users.find((u) => u.name === 'demo')!.apiKey;
    await fetch(`${gw.url}/piapi/echo/hello`, { headers: { authorization: `Bearer ${demoKey}` }, signal: AbortSignal.timeout(5000) }).catch(
      () => undefined,
    );
    const keys = await client!.keys('piapi:limits:*');
    expect(keys.some((k) => k.includes('demo')), `keys in Redis: ${keys.join(', ')}`).toBe(true);
  });
});
