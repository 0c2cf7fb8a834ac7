import 'reflect-metadata';
import { Command } from 'commander';
// Config checks owned by features, so `config validate` and the setup commands check what the gateway does.
import '../messages/models/model-map.config.js';
import '../providers/oauth-keys.config.js';
import { registerEnvCommand } from './env.command.js';
import { registerKeysCommand } from './keys.command.js';
import { registerLoginCommand } from './login.command.js';
import { registerServerCommands } from './server.commands.js';
import { registerToolCommands } from './tool.commands.js';
import { registerUiCommand } from './ui.command.js';

const program = new Command()
  .name('piapi')
  .description('LLM gateway for engineering teams')
  // Lets `piapi code`/`codex` pass options they do not know on to the tool.
  .enablePositionalOptions();

registerServerCommands(program);
registerUiCommand(program);
registerLoginCommand(program);
registerToolCommands(program);
registerEnvCommand(program);
registerKeysCommand(program);

await program.parseAsync(process.argv);
