import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config-loader.js';
import { parseListen } from '../../src/main.js';
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
}

interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = readYaml<Compose>('docker-compose.yml');
const { piapi, prometheus, grafana } = compose.services;

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

describe('docker-compose.yml', () => {
  it('runs piapi, Prometheus and Grafana, piapi built from this repository', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'piapi', 'prometheus']);
    expect(piapi.build).toBe('.');
  });

  it('pins the Prometheus and Grafana images to a version', () => {
    for (const service of [prometheus, grafana]) expect(service.image).toMatch(/:v?\d+\.\d+\.\d+$/);
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

  it("the mounted config passes the app's validator", () => {
    const result = parseConfig(readRepoFile(hostPath(piapi, configPathOf(piapiStart)!)!), {});
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it('publishes the port piapi listens on', () => {
    const port = parseListen(listenOf(piapiStart)!).port;
    expect(piapi.ports).toContain(`${port}:${port}`);
  });

  it('gives piapi longer to stop than its config lets streams drain', () => {
    const result = parseConfig(readRepoFile(hostPath(piapi, configPathOf(piapiStart)!)!), {});
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
