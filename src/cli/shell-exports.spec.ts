import { describe, expect, it } from 'vitest';
import { renderExports, shellFromEnv } from './shell-exports.js';

describe('renderExports', () => {
  const vars = [
    ['A', `it's`],
    ['B', undefined],
  ] as const;

  it('quotes for bash and zsh with single quotes, a quote closed and escaped', () => {
    expect(renderExports('bash', vars)).toBe(`export A='it'\\''s'\nunset B\n`);
    expect(renderExports('zsh', vars)).toBe(renderExports('bash', vars));
  });

  it('quotes for fish with backslash escapes inside single quotes', () => {
    expect(renderExports('fish', [['A', `it's \\ here`], ['B', undefined]])).toBe(`set -gx A 'it\\'s \\\\ here'\nset -e B\n`);
  });

  it('quotes for PowerShell by doubling single quotes', () => {
    expect(renderExports('powershell', vars)).toBe(`$Env:A = 'it''s'\nRemove-Item Env:B -ErrorAction SilentlyContinue\n`);
  });
});

describe('shellFromEnv', () => {
  it('reads the shell from $SHELL and falls back to bash', () => {
    expect(shellFromEnv({ SHELL: '/usr/bin/fish' })).toBe('fish');
    expect(shellFromEnv({ SHELL: '/bin/zsh' })).toBe('zsh');
    expect(shellFromEnv({ SHELL: '/usr/bin/pwsh' })).toBe('powershell');
    expect(shellFromEnv({ SHELL: '/bin/tcsh' })).toBe('bash');
    expect(shellFromEnv({})).toBe('bash');
  });
});
