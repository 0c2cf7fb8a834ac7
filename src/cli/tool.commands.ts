import type { Command } from 'commander';
import type { GatewayConfig } from '../config/gateway-config.js';
import { action, CliError } from './cli-error.js';
import { callerProvider, CODEX_KEY_ENV, codexProviderOverrides, codexRoute, type CodexRoute } from './codex-overrides.js';
import { resolveGatewayTarget, type TargetOptions } from './gateway-target.js';
import { runTool } from './tool-launcher.js';

interface ToolOptions extends TargetOptions {
  claude?: string;
  codex?: string;
  translate?: boolean;
  passThrough?: boolean;
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
      .description(
        'run Codex CLI through piapi: the cx pass-through when your provider has one, else /v1/responses translated to its llm (starts a gateway here when none answers)',
      )
      .usage('[options] [-- <codex args...>]')
      .argument('[codexArgs...]', 'arguments passed to codex'),
  )
    .option('--codex <path>', 'the Codex CLI program (env PIAPI_CODEX_BIN; default: codex on PATH)')
    .option('--translate', 'post to /v1/responses, translated to the provider\'s llm, even when it has a cx service')
    .option('--pass-through', 'use the cx pass-through even when the provider has only an llm block')
    .action(
      action(async (codexArgs: string[], options: ToolOptions) => {
        if (options.translate && options.passThrough) throw new CliError('--translate and --pass-through exclude each other');
        const bin = options.codex ?? (process.env.PIAPI_CODEX_BIN || 'codex');
        await runThroughGateway(options, (url, key, config) => {
          const route: CodexRoute = options.translate ? 'translate' : options.passThrough ? 'pass-through' : codexRoute(callerProvider(config, key));
          return runTool(
            bin,
            [...codexProviderOverrides(url, route), ...codexArgs],
            { ...process.env, [CODEX_KEY_ENV]: key },
            'install Codex CLI (npm install -g @openai/codex) or pass --codex <path>',
          );
        });
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

async function runThroughGateway(options: TargetOptions, run: (url: string, key: string, config: GatewayConfig | undefined) => Promise<number>): Promise<never> {
  const target = await resolveGatewayTarget(options, { start: true, needKey: true });
  let code: number;
  try {
    code = await run(target.url, target.key as string, target.config);
  } finally {
    await target.close();
  }
  process.exit(code);
}

