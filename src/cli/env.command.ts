import type { Command } from 'commander';
import { action, CliError } from './cli-error.js';
import { callerProvider, CODEX_KEY_ENV, codexBaseUrl, codexRoute, type CodexRoute } from './codex-overrides.js';
import { resolveGatewayTarget, type TargetOptions } from './gateway-target.js';
import { comment, renderExports, shellFromEnv, SHELLS, type Shell, type ShellVariables } from './shell-exports.js';

/** `piapi env`: variables that point Claude Code, Codex and OpenAI/Anthropic SDKs at the gateway. */
export function registerEnvCommand(program: Command): void {
  program
    .command('env')
    .description('print shell commands that point clients at the gateway: eval "$(piapi env)"')
    .option('--shell <shell>', `${SHELLS.join(' | ')} (default: from $SHELL)`)
    .option('-c, --config <file>', 'config file (env PIAPI_CONFIG; default ~/.piapi/config.yaml)')
    .option('--url <url>', 'a running gateway, e.g. a team gateway (default: the config\'s listen address)')
    .option('--key <key>', 'your piapi user key (env PIAPI_API_KEY; default: the config\'s only user\'s apiKey)')
    .action(
      action(async (options: TargetOptions & { shell?: string }) => {
        const shell = options.shell ?? shellFromEnv(process.env);
        if (!(SHELLS as readonly string[]).includes(shell)) throw new CliError(`unknown shell ${JSON.stringify(shell)}: use ${SHELLS.join(', ')}`);
        const target = await resolveGatewayTarget(options, { start: false, needKey: false });
        process.stdout.write(gatewayExports(shell as Shell, target.url, target.key, codexRoute(callerProvider(target.config, target.key))));
      }),
    );
}

/** `route`: where OpenAI clients (Codex, the SDK) go: the `cx` pass-through or the translated `/v1`. */
export function gatewayExports(shell: Shell, url: string, key: string | undefined, route: CodexRoute = 'pass-through'): string {
  const variables: ShellVariables = [
    ['PIAPI_URL', url],
    ['ANTHROPIC_BASE_URL', url],
    ['OPENAI_BASE_URL', codexBaseUrl(url, route)],
    ...(key === undefined
      ? []
      : ([
          [CODEX_KEY_ENV, key],
          ['ANTHROPIC_API_KEY', key],
          ['OPENAI_API_KEY', key],
          // Claude Code sends it as well as ANTHROPIC_API_KEY; two different keys are refused.
          ['ANTHROPIC_AUTH_TOKEN', undefined],
        ] as const)),
  ];
  const missing =
    key === undefined ? comment('no piapi user key found: pass --key or set PIAPI_API_KEY; key variables left out') : '';
  return missing + renderExports(shell, variables);
}
