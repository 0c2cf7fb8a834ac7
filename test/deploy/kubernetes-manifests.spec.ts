import { readdirSync } from 'node:fs';
import { basename, dirname, posix } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config-loader.js';
import { interpolateString } from '../../src/config/env-interpolation.js';
import { HealthController } from '../../src/health/health.controller.js';
import { DEFAULT_LISTEN, parseListen } from '../../src/main.js';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { TestRedis } from '../support/redis-server.js';
import { controllerRoutes } from './support/app-routes.js';
import {
  K8S_DIR,
  SECRET_EXAMPLE,
  loadKubernetesManifests,
  selects,
  validateAgainstSchema,
} from './support/kubernetes-manifests.js';
import { ensureRedisServer, type RedisLookup } from './support/redis.js';
import { repoPath } from './support/repo-files.js';
import { configPathOf, imageFacts, kubernetesStart, listenOf, runsPiapiStart } from './support/start-command.js';

const k8s = loadKubernetesManifests();
const podSpec = k8s.deployment.spec!.template.spec!;
const podLabels = k8s.deployment.spec!.template.metadata!.labels;
const container: IContainer = podSpec.containers.find((c) => c.name === 'piapi')!;
const start = kubernetesStart(imageFacts(), container);
const configText = k8s.configMap.data!['config.yaml'];

/** Every `${VAR}` without a default in the ConfigMap's config, found with the app's own interpolation. */
function requiredVariables(text: string): Set<string> {
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (typeof node === 'string') interpolateString(node, {}, (name) => names.add(name));
    else if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') Object.values(node).forEach(walk);
  };
  walk(parseDocument(text).toJS());
  return names;
}

const secretValues: Record<string, string> = { ...k8s.secret.stringData };

/**
 * A value for every ${VAR}: the Secret example's placeholder (shaped to pass validation: user
 * keys need ≥ 16 characters, REDIS_URL a redis URL), else a dummy one.
 */
const dummyEnv: Record<string, string> = Object.fromEntries(
  [...requiredVariables(configText)].map((name) => [name, secretValues[name] ?? `dummy-value-for-${name.toLowerCase()}`]),
);

/** A placeholder no one could take for a real value: FAKE-...-replace-me, or a URL whose password is one. */
function isFakePlaceholder(value: string): boolean {
  const fake = /^FAKE-.*replace-me$/;
  if (fake.test(value)) return true;
  if (!/^rediss?:\/\//.test(value)) return false;
  const url = new URL(value);
  return fake.test(decodeURIComponent(url.password)) && url.hostname.endsWith('.example.internal');
}

function containerPort(port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

describe('Kubernetes manifests', () => {
  it('kustomization.yaml lists every manifest of the directory except the Secret example', () => {
    const files = readdirSync(repoPath(K8S_DIR)).filter(
      (f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml' && f !== SECRET_EXAMPLE,
    );
    expect([...k8s.kustomization.resources].sort()).toEqual(files.sort());
  });

  it('every object is valid against the Kubernetes / Prometheus Operator schema', () => {
    for (const { file, object } of k8s.objects) {
      expect(() => validateAgainstSchema(object), `${file}: ${object.kind}`).not.toThrow();
    }
  });

  it('the kustomization sets the image of the piapi container', () => {
    expect(k8s.kustomization.images?.map((i) => i.name)).toContain(container.image);
  });

  it('the container runs the image start command with no other command', () => {
    expect(container.command).toBeUndefined();
    expect(runsPiapiStart(start.argv)).toBe(true);
  });

  it('the container listens on 9200, the port it declares as http', () => {
    const listen = listenOf(start) ?? DEFAULT_LISTEN;
    expect(parseListen(listen).port).toBe(9200);
    expect(parseListen(DEFAULT_LISTEN).port).toBe(9200);
    expect(container.ports).toContainEqual(expect.objectContaining({ name: 'http', containerPort: 9200 }));
  });

  it('the Service forwards its http port to the container port', () => {
    const port = k8s.service.spec!.ports!.find((p) => p.name === 'http')!;
    expect(port.port).toBe(9200);
    expect(containerPort(port.targetPort)).toBe(9200);
    expect(selects(k8s.service.spec!.selector, podLabels)).toBe(true);
  });

  it("the probes call the app's own health routes on the http port", () => {
    const routes = controllerRoutes(HealthController);
    const { livenessProbe, readinessProbe, startupProbe } = container;
    expect(livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(startupProbe?.httpGet?.path).toBeDefined();
    for (const probe of [livenessProbe, readinessProbe, startupProbe]) {
      expect(routes).toContain(`GET ${probe!.httpGet!.path}`);
      expect(containerPort(probe!.httpGet!.port)).toBe(9200);
    }
  });

  it('the config file piapi reads is the ConfigMap key, mounted as a whole directory', () => {
    const configPath = configPathOf(start)!;
    const mount = container.volumeMounts!.find((m) => m.mountPath === dirname(configPath));
    expect(mount, `a volume mounted at ${dirname(configPath)}`).toBeDefined();
    // subPath mounts never see ConfigMap updates, so hot reload would silently stop working.
    expect(mount!.subPath).toBeUndefined();
    const volume = podSpec.volumes!.find((v) => v.name === mount!.name)!;
    expect(volume.configMap?.name).toBe(k8s.configMap.metadata!.name);
    expect(Object.keys(k8s.configMap.data!)).toContain(basename(configPath));
  });

  it('every ${VAR} of the ConfigMap config is set from the Secret in the container env', () => {
    const secretKeys = Object.keys({ ...k8s.secret.stringData, ...k8s.secret.data });
    const variables = requiredVariables(configText);
    expect(variables.size).toBeGreaterThan(0);
    for (const name of variables) {
      const entry = container.env?.find((e) => e.name === name);
      expect(entry?.valueFrom?.secretKeyRef?.name, `env ${name} from the Secret`).toBe(k8s.secret.metadata!.name);
      expect(secretKeys).toContain(entry!.valueFrom!.secretKeyRef!.key);
    }
  });

  it('every Secret reference of the container names a key of the Secret example', () => {
    const secretKeys = Object.keys({ ...k8s.secret.stringData, ...k8s.secret.data });
    const refs = (container.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : []));
    for (const ref of refs) {
      expect(ref.name).toBe(k8s.secret.metadata!.name);
      expect(secretKeys).toContain(ref.key);
    }
  });

  it('the Secret example holds only clearly fake placeholder values', () => {
    for (const [key, value] of Object.entries(k8s.secret.stringData ?? {})) {
      expect(isFakePlaceholder(value), `${key}: ${value}`).toBe(true);
    }
    expect(k8s.secret.data).toBeUndefined();
  });

  it("state.redis.url is ${REDIS_URL}, a required env entry from the Secret's redis URL", () => {
    const raw = parseDocument(configText).toJS() as { state?: { redis?: { url?: string } } };
    expect(raw.state?.redis?.url).toBe('${REDIS_URL}');
    const entry = container.env?.find((e) => e.name === 'REDIS_URL');
    expect(entry?.valueFrom?.secretKeyRef).toMatchObject({ name: k8s.secret.metadata!.name, key: 'REDIS_URL' });
    // Optional would let a pod start without it, only to fail loading its config.
    expect(entry!.valueFrom!.secretKeyRef!.optional ?? false).toBe(false);
    const result = parseConfig(configText, dummyEnv);
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config.state.redis?.url).toBe(secretValues.REDIS_URL);
    expect(new URL(secretValues.REDIS_URL).protocol).toBe('rediss:');
  });

  it("the ConfigMap config passes the app's validator with the Secret's variables set", () => {
    const result = parseConfig(configText, dummyEnv);
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it("the ConfigMap config's listen address agrees with the container's", () => {
    const result = parseConfig(configText, dummyEnv);
    if (!result.ok) throw new Error(result.errors.join('\n'));
    if (result.config.listen !== undefined) {
      expect(parseListen(result.config.listen).port).toBe(parseListen(listenOf(start) ?? DEFAULT_LISTEN).port);
    }
  });

  it('terminationGracePeriodSeconds outlasts the preStop sleep plus shutdownGraceMs', () => {
    const result = parseConfig(configText, dummyEnv);
    if (!result.ok) throw new Error(result.errors.join('\n'));
    const preStop = container.lifecycle?.preStop;
    const preStopSeconds = preStop?.sleep
      ? preStop.sleep.seconds
      : preStop?.exec?.command?.[0] === 'sleep'
        ? Number(preStop.exec.command[1])
        : 0;
    // Kubernetes counts the preStop hook against the grace period; SIGTERM comes after it.
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThan(preStopSeconds + result.config.shutdownGraceMs / 1000);
  });

  it('the pod runs as non-root with a read-only root filesystem, no capabilities and RuntimeDefault seccomp', () => {
    expect(podSpec.securityContext?.runAsNonRoot).toBe(true);
    expect(podSpec.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(podSpec.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    expect(podSpec.automountServiceAccountToken).toBe(false);
    const sc = container.securityContext!;
    expect(sc.runAsNonRoot).toBe(true);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.capabilities?.drop).toEqual(['ALL']);
    expect(sc.capabilities?.add).toBeUndefined();
  });

  it("Service links are off, so a Service named piapi can't inject PIAPI_* variables", () => {
    expect(podSpec.enableServiceLinks).toBe(false);
  });

  it('the container requests CPU and memory and has a memory limit', () => {
    expect(container.resources?.requests?.cpu).toBeDefined();
    expect(container.resources?.requests?.memory).toBeDefined();
    expect(container.resources?.limits?.memory).toBeDefined();
  });

  it('two replicas, kept by the PDB and the HPA floor', () => {
    expect(k8s.deployment.spec!.replicas).toBe(2);
    expect(k8s.deployment.spec!.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
    expect(selects(k8s.pdb.spec!.selector!.matchLabels, podLabels)).toBe(true);
    expect(k8s.pdb.spec!.minAvailable).toBeLessThan(k8s.deployment.spec!.replicas!);
    expect(k8s.hpa.spec.minReplicas).toBe(k8s.deployment.spec!.replicas);
  });

  it('the HPA scales the Deployment on a resource its container requests', () => {
    const target = k8s.hpa.spec.scaleTargetRef;
    expect([target.apiVersion, target.kind, target.name]).toEqual(['apps/v1', 'Deployment', k8s.deployment.metadata!.name]);
    for (const metric of k8s.hpa.spec.metrics ?? []) {
      if (metric.type === 'Resource') expect(container.resources?.requests?.[metric.resource!.name]).toBeDefined();
    }
  });

  it('the Deployment selector matches its pod labels', () => {
    expect(selects(k8s.deployment.spec!.selector.matchLabels, podLabels)).toBe(true);
  });

  it('the ServiceMonitor scrapes /metrics on the Service http port', () => {
    const sm = k8s.serviceMonitor.spec;
    expect(selects(sm.selector.matchLabels, k8s.service.metadata!.labels)).toBe(true);
    expect(sm.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    expect(k8s.service.spec!.ports!.map((p) => p.name)).toContain(sm.endpoints[0].port);
  });

  it('the config mount path is absolute and inside the image working directory', () => {
    const configPath = configPathOf(start)!;
    expect(posix.isAbsolute(configPath)).toBe(true);
    expect(configPath.startsWith(`${imageFacts().workdir}/`)).toBe(true);
  });
});

describe('the gateway booted with the ConfigMap config, REDIS_URL at a real redis-server', () => {
  let gw: TestGateway;
  let redis: TestRedis | undefined;
  let redisLookup: RedisLookup;
  const saved = new Map<string, string | undefined>();
  const stateStoreUp = async () => /^piapi_state_store_up (\d)$/m.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1];

  beforeAll(async () => {
    // In CI this installs Debian's redis-server when needed and fails rather than skips.
    // Without one here, REDIS_URL keeps the Secret example's (unreachable) URL: the probes are
    // still checked, the Redis test is skipped.
    redisLookup = ensureRedisServer();
    if (redisLookup.skipReason !== undefined) console.warn(`skipping the Redis check: ${redisLookup.skipReason}`);
    else redis = await TestRedis.start();
    for (const [name, value] of Object.entries({ ...dummyEnv, ...(redis ? { REDIS_URL: redis.url } : {}) })) {
      saved.set(name, process.env[name]);
      process.env[name] = value;
    }
    gw = await startTestGateway(configText);
  }, 600_000);

  afterAll(async () => {
    await gw?.stop();
    await redis?.stop();
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('answers the liveness, readiness and startup probes with 200', async () => {
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
      const res = await fetch(`${gw.url}${probe!.httpGet!.path}`);
      expect(res.status, probe!.httpGet!.path).toBe(200);
    }
  });

  it('serves Prometheus metrics where the ServiceMonitor scrapes', async (ctx) => {
    const path = k8s.serviceMonitor.spec.endpoints[0].path!;
    const res = await fetch(`${gw.url}${path}`);
    // The metrics endpoint is being added alongside these manifests; until it lands, say so.
    ctx.skip(res.status === 404, `${path} is not served yet (404): the metrics module has not landed`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toMatch(/^# (HELP|TYPE) /m);
  });

  it('reaches Redis (piapi_state_store_up 1) and stays ready when Redis goes away', async (ctx) => {
    ctx.skip(redisLookup.skipReason !== undefined, redisLookup.skipReason);
    await eventually(async () => (await stateStoreUp()) === '1', 10_000);
    await redis!.kill();
    await eventually(async () => (await stateStoreUp()) === '0', 10_000);
    // An outage of the team's Redis must not take every replica out of the Service.
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      expect((await fetch(`${gw.url}${probe!.httpGet!.path}`)).status, probe!.httpGet!.path).toBe(200);
    }
  });
});
