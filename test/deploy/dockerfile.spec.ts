import { spawn } from 'node:child_process';
import { posix } from 'node:path';
import { validate } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LISTEN, parseListen } from '../../src/main.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { parseDockerfile, stageEnv, type DockerInstruction, type DockerStage } from './support/dockerfile-stages.js';
import { isRepoDirectory, isRepoFile, readRepoFile } from './support/repo-files.js';
import { configPathOf, imageFacts, listenOf, runsPiapiStart } from './support/start-command.js';
import { freePort } from '../support/free-port.js';

const dockerfile = readRepoFile('Dockerfile');
const stages = parseDockerfile(dockerfile);
const image = imageFacts();
const runtime = stages.at(-1)!;
const start = { argv: [...image.entrypoint, ...image.cmd], env: image.env };
const packageJson = JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string>; engines: { node: string } };

function instructions(stage: DockerStage, keyword: string): DockerInstruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

function stageNamed(name: string): DockerStage {
  const stage = stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage ${name}`);
  return stage;
}

/** Copies from the build context (not `--from` another stage): [sources, destination]. */
function contextCopies(): { stage: DockerStage; sources: string[]; dest: string }[] {
  return stages.flatMap((stage) =>
    instructions(stage, 'COPY')
      .filter((c) => c.flags.from === undefined)
      .map((c) => ({ stage, sources: c.args.slice(0, -1), dest: c.args.at(-1)! })),
  );
}

/** `.dockerignore` as an allow-list: `*`, then `!path` re-includes. */
function dockerignoreAllows(path: string): boolean {
  const rules = readRepoFile('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  let included = true;
  for (const rule of rules) {
    const negated = rule.startsWith('!');
    const pattern = negated ? rule.slice(1) : rule;
    const matches = pattern === '*' || pattern === path || path.startsWith(`${pattern}/`);
    if (matches) included = negated;
  }
  return included;
}

describe('Dockerfile', () => {
  it('has no syntax errors or unknown instructions and flags', () => {
    const problems = validate(dockerfile).map((d) => ({ line: d.range.start.line + 1, message: d.message }));
    expect(problems).toEqual([]);
  });

  it('builds from Node 22, which satisfies package.json engines', () => {
    for (const stage of stages) expect(stage.image).toMatch(/^node:22-bookworm-slim$/);
    expect(packageJson.engines.node).toMatch(/^>=20\./);
  });

  it('builds with npm ci and npm run build, and ships production dependencies only', () => {
    const runs = (name: string) => instructions(stageNamed(name), 'RUN').map((r) => r.args.join(' '));
    expect(runs('build')).toEqual(expect.arrayContaining([expect.stringMatching(/^npm ci\b/), 'npm run build']));
    expect(runs('prod-deps')).toEqual([expect.stringMatching(/^npm ci --omit=dev\b/)]);
    const fromStages = instructions(image.stage, 'COPY').map((c) => [c.flags.from, c.args[0]]);
    expect(fromStages).toContainEqual(['prod-deps', '/app/node_modules']);
    expect(fromStages).toContainEqual(['build', '/app/dist']);
    expect(fromStages.filter(([from]) => from === 'build')).toEqual([['build', '/app/dist']]);
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const copies = contextCopies();
    expect(copies.length).toBeGreaterThan(0);
    for (const { sources } of copies) {
      for (const source of sources) {
        expect(isRepoFile(source) || isRepoDirectory(source), `${source} exists`).toBe(true);
        expect(dockerignoreAllows(source), `${source} is in the build context`).toBe(true);
      }
    }
  });

  it('keeps local configs, env files, node_modules and .git out of the build context', () => {
    for (const path of ['config.yaml', '.env', 'node_modules', '.git', 'dist', 'test', 'deploy']) {
      expect(dockerignoreAllows(path), path).toBe(false);
    }
  });

  it('runs `node bin/piapi.js start`, the package bin, in exec form', () => {
    expect(runsPiapiStart(start.argv)).toBe(true);
    expect(posix.normalize(packageJson.bin.piapi)).toBe(start.argv[1]);
    expect(readRepoFile(start.argv[1])).toContain("'../dist/cli/piapi.js'");
  });

  it('puts bin/, dist/, node_modules/ and package.json where the start command finds them', () => {
    const dests = instructions(image.stage, 'COPY').map((c) => posix.resolve(image.workdir, c.args.at(-1)!));
    for (const path of ['bin', 'dist', 'node_modules']) expect(dests).toContain(posix.resolve(image.workdir, path));
    // package.json's "type": "module" is what makes node load dist/*.js as ES modules.
    expect(instructions(image.stage, 'COPY').map((c) => c.args)).toContainEqual(['package.json', './']);
    expect(image.workdir).toBe('/app');
  });

  it('reads its config from /app/config/config.yaml, where the example config is copied', () => {
    const configPath = configPathOf(start);
    expect(configPath).toBe('/app/config/config.yaml');
    const copied = contextCopies()
      .filter(({ stage }) => stage === runtime)
      .map(({ sources, dest }) => [sources[0], posix.resolve(image.workdir, dest)]);
    expect(copied).toContainEqual(['config/piapi.example.yaml', configPath]);
  });

  it('listens on the port it exposes, 9200, the app default', () => {
    const listen = listenOf(start);
    expect(listen).toBe(DEFAULT_LISTEN);
    expect(image.exposedPorts).toEqual([parseListen(listen!).port]);
    expect(parseListen(DEFAULT_LISTEN).port).toBe(9200);
  });

  it('runs as a numeric non-root user and stops with SIGTERM', () => {
    const user = instructions(image.stage, 'USER').at(-1)?.args[0];
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(instructions(image.stage, 'STOPSIGNAL').at(-1)?.args).toEqual(['SIGTERM']);
    expect(stageEnv(image.stage).get('NODE_ENV')).toBe('production');
  });

  it('has a HEALTHCHECK on /healthz that needs nothing but node', () => {
    const check = instructions(image.stage, 'HEALTHCHECK').at(-1);
    expect(check?.exec?.[0]).toBe('node');
    expect(check?.exec?.join(' ')).toContain('/healthz');
  });
});

describe('the Dockerfile HEALTHCHECK command', () => {
  const command = instructions(image.stage, 'HEALTHCHECK').at(-1)!.exec!;
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(readRepoFile('config/piapi.example.yaml'));
  });

  afterAll(async () => {
    await gw?.stop();
  });

  /** Runs the HEALTHCHECK command (asynchronously: the gateway answers from this process). */
  const run = (listen: string) =>
    new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, command.slice(1), { env: { ...process.env, PIAPI_LISTEN: listen }, stdio: 'ignore' });
      const timer = setTimeout(() => child.kill(), 10_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });

  it('exits 0 when the gateway on PIAPI_LISTEN is live', async () => {
    const port = new URL(gw.url).port;
    expect(await run(`127.0.0.1:${port}`)).toBe(0);
    expect(await run(`:${port}`)).toBe(0);
  });

  it('exits 1 when nothing listens there', async () => {
    expect(await run(`:${await freePort()}`)).toBe(1);
  });
});
