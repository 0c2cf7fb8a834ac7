import type { Command } from 'commander';
import { action } from './cli-error.js';
import { CODEX_KEY_ENV, codexProviderOverrides } from './codex-overrides.js';
import { resolveGatewayTarget, type TargetOptions } from './gateway-target.js';
import { runTool } from './tool-launcher.js';

interface ToolOptions extends TargetOptions {
  claude?: string;
  codex?: string;
}

/** `piapi code` and `piapi codex`: a client tool wired to the gateway for one session. */
export function registerToolCommands(program: Command): void {
  withTargetOptions(
    program
      .command('code')
      .description('run Claude Code through piapi (starts a gateway here when none answers at the config\'s listen address)')
      .usage('[options] [-- <claude args...>]')
      .argument('[claudeArgs...]', 'arguments passed to claude'),
  )
    .option('--claude <path>', 'the Claude Code program (env PIAPI_CLAUDE_BIN; default: claude on PATH)')
    .action(
      action(async (claudeArgs: string[], options: ToolOptions) => {
        const bin = options.claude ?? (process.env.PIAPI_CLAUDE_BIN || 'claude');
        await runThroughGateway(options, (url, key) => {
          const env: NodeJS.ProcessEnv = { ...process.env, ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: key };
          // Claude Code would send it too, as a second, different key: piapi refuses that.
          delete env.ANTHROPIC_AUTH_TOKEN;
          return runTool(bin, claudeArgs, env, 'install Claude Code (npm install -g @anthropic-ai/claude-code) or pass --claude <path>');
        });
      }),
    );

  withTargetOptions(
    program
      .command('codex')
      .description('run Codex CLI through piapi\'s cx pass-through (starts a gateway here when none answers)')
      .usage('[options] [-- <codex args...>]')
      .argument('[codexArgs...]', 'arguments passed to codex'),
  )
    .option('--codex <path>', 'the Codex CLI program (env PIAPI_CODEX_BIN; default: codex on PATH)')
    .action(
      action(async (codexArgs: string[], options: ToolOptions) => {
        const bin = options.codex ?? (process.env.PIAPI_CODEX_BIN || 'codex');
        await runThroughGateway(options, (url, key) =>
          runTool(bin, [...codexProviderOverrides(url), ...codexArgs], { ...process.env, [CODEX_KEY_ENV]: key }, 'install Codex CLI (npm install -g @openai/codex) or pass --codex <path>'),
        );
      }),
    );
}

function withTargetOptions(command: Command): Command {
  // No short options: they would shadow the tool's own (-c is claude's --continue and codex's --config).
  return command
    .option('--config <file>', 'config file (env PIAPI_CONFIG; default ~/.piapi/config.yaml)')
    .option('--url <url>', 'use this running gateway, e.g. a team gateway')
    .option('--key <key>', 'your piapi user key (env PIAPI_API_KEY; default: the config\'s only user\'s apiKey)')
    .allowUnknownOption()
    .passThroughOptions();
}

async function runThroughGateway(options: TargetOptions, run: (url: string, key: string) => Promise<number>): Promise<never> {
  const target = await resolveGatewayTarget(options, { start: true, needKey: true });
  let code: number;
  try {
    code = await run(target.url, target.key as string);
  } finally {
    await target.close();
  }
  process.exit(code);
}
