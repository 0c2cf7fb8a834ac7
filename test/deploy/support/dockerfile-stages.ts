import { DockerfileParser, ModifiableInstruction } from 'dockerfile-ast';

/** One Dockerfile instruction, normalised for assertions. */
export interface DockerInstruction {
  keyword: string;
  /** `--name=value` flags (`--from=build`, `--interval=15s`, ...). */
  flags: Record<string, string>;
  /** Shell-form words after the flags. */
  args: string[];
  /** The exec form's array when the instruction uses one (HEALTHCHECK: the array after CMD). */
  exec?: string[];
}

export interface DockerStage {
  name?: string;
  /** The base image with build ARG defaults substituted. */
  image: string;
  instructions: DockerInstruction[];
}

export function parseDockerfile(text: string): DockerStage[] {
  const defaults = new Map<string, string>();
  const stages: DockerStage[] = [];
  for (const ins of DockerfileParser.parse(text).getInstructions()) {
    const keyword = ins.getKeyword().toUpperCase();
    // The arguments' text, continuation lines joined, without the instruction's flags.
    let rest = (ins.getArgumentsContent() ?? '').trim();
    const flags: Record<string, string> = {};
    if (ins instanceof ModifiableInstruction) {
      for (const flag of ins.getFlags()) flags[flag.getName()] = flag.getValue() ?? '';
    }
    if (keyword === 'HEALTHCHECK') rest = rest.replace(/^CMD\s+/i, '');
    const exec = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : undefined;
    const args = rest.split(/\s+/).filter((word) => word !== '');
    if (keyword === 'ARG' && stages.length === 0) {
      const [name, value] = args[0].split('=');
      if (value !== undefined) defaults.set(name, value);
    }
    if (keyword === 'FROM') {
      const image = args[0].replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (m, name: string) => defaults.get(name) ?? m);
      stages.push({ image, name: args[2], instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push({ keyword, flags, args, exec });
  }
  return stages;
}

/** ENV values of a stage (later assignments win). */
export function stageEnv(stage: DockerStage): Map<string, string> {
  const env = new Map<string, string>();
  for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    for (const word of ins.args) {
      const at = word.indexOf('=');
      if (at > 0) env.set(word.slice(0, at), word.slice(at + 1));
    }
  }
  return env;
}

export function lastInstruction(stage: DockerStage, keyword: string): DockerInstruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1);
}
