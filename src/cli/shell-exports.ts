export const SHELLS = ['bash', 'zsh', 'fish', 'powershell'] as const;
export type Shell = (typeof SHELLS)[number];

/** Variables to set (a value) or clear (undefined), in order. */
export type ShellVariables = ReadonlyArray<readonly [name: string, value: string | undefined]>;

/** Lines that set and clear `variables` in `shell`, for `eval "$(piapi env)"` and its kin. */
export function renderExports(shell: Shell, variables: ShellVariables): string {
  return variables.map(([name, value]) => (value === undefined ? clear(shell, name) : set(shell, name, value))).join('\n') + '\n';
}

function set(shell: Shell, name: string, value: string): string {
  switch (shell) {
    case 'bash':
    case 'zsh':
      return `export ${name}='${value.replaceAll("'", `'\\''`)}'`;
    case 'fish':
      return `set -gx ${name} '${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
    case 'powershell':
      return `$Env:${name} = '${value.replaceAll("'", "''")}'`;
  }
}

function clear(shell: Shell, name: string): string {
  switch (shell) {
    case 'bash':
    case 'zsh':
      return `unset ${name}`;
    case 'fish':
      return `set -e ${name}`;
    case 'powershell':
      return `Remove-Item Env:${name} -ErrorAction SilentlyContinue`;
  }
}

/** The shell named by `$SHELL` when it is one we know, else bash. */
export function shellFromEnv(env: NodeJS.ProcessEnv): Shell {
  const name = (env.SHELL ?? '').split('/').pop() ?? '';
  if (name === 'pwsh' || name === 'powershell') return 'powershell';
  return (SHELLS as readonly string[]).includes(name) ? (name as Shell) : 'bash';
}

/** A comment line every one of these shells ignores. */
export function comment(text: string): string {
  return `# ${text.replaceAll('\n', ' ')}\n`;
}
