import { parseDockerfile, lastInstruction, stageEnv, type DockerStage } from './dockerfile-stages.js';
import { readRepoFile } from './repo-files.js';

/** What the runtime image runs, from the Dockerfile's last stage. */
export interface ImageFacts {
  stage: DockerStage;
  entrypoint: string[];
  cmd: string[];
  env: Map<string, string>;
  workdir: string;
  exposedPorts: number[];
}

export function imageFacts(): ImageFacts {
  const stage = parseDockerfile(readRepoFile('Dockerfile')).at(-1);
  if (!stage) throw new Error('Dockerfile has no stage');
  const exec = (keyword: string) => {
    const ins = lastInstruction(stage, keyword);
    if (ins && !ins.exec) throw new Error(`${keyword} must use the exec (JSON) form so signals reach node`);
    return ins?.exec ?? [];
  };
  return {
    stage,
    entrypoint: exec('ENTRYPOINT'),
    cmd: exec('CMD'),
    env: stageEnv(stage),
    workdir: lastInstruction(stage, 'WORKDIR')?.args[0] ?? '/',
    exposedPorts: stage.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.map((a) => Number.parseInt(a, 10))),
  };
}

/** A process as a container runtime starts it: argv and environment. */
export interface StartCommand {
  argv: string[];
  env: Map<string, string>;
}

/** Kubernetes semantics: `command` replaces ENTRYPOINT (and drops CMD), `args` replaces CMD. */
export function kubernetesStart(
  image: ImageFacts,
  container: { command?: string[]; args?: string[]; env?: { name: string; value?: string }[] },
): StartCommand {
  const argv = [...(container.command ?? image.entrypoint), ...(container.args ?? (container.command ? [] : image.cmd))];
  const env = new Map(image.env);
  for (const e of container.env ?? []) if (e.value !== undefined) env.set(e.name, e.value);
  return { argv, env };
}

function option(argv: string[], long: string, short: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === long || argv[i] === short) return argv[i + 1];
    if (argv[i].startsWith(`${long}=`)) return argv[i].slice(long.length + 1);
  }
  return undefined;
}

/** The config file piapi opens: `--config`, else PIAPI_CONFIG (as src/cli/piapi.ts decides). */
export function configPathOf(start: StartCommand): string | undefined {
  return option(start.argv, '--config', '-c') ?? start.env.get('PIAPI_CONFIG');
}

/** The listen address piapi binds: `--listen`, else PIAPI_LISTEN (the config's `listen` comes after). */
export function listenOf(start: StartCommand): string | undefined {
  return option(start.argv, '--listen', '-l') ?? start.env.get('PIAPI_LISTEN');
}

/** Whether argv runs `node bin/piapi.js start`. */
export function runsPiapiStart(argv: string[]): boolean {
  return argv[0] === 'node' && argv[1] === 'bin/piapi.js' && argv[2] === 'start';
}
