import type { Command } from 'commander';
import { newUserKey, userKeyHash } from './user-key.js';

export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('user key tools');
  keys
    .command('new')
    .description('print a fresh random user key and the sha256 hash to put in the config (apiKeyHash)')
    .action(() => {
      const key = newUserKey();
      process.stdout.write(`key:  ${key}\nhash: ${userKeyHash(key)}\n`);
    });
}
