import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Tests that run `bin/piapi.js` as a real process need `dist/`: build it once per run.
 * Type errors are reported by `npm run lint`; here only a missing output is fatal.
 */
export default function setup(): void {
  const result = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
  if (!existsSync('dist/cli/piapi.js')) throw new Error(`build failed:\n${result.stdout}${result.stderr}`);
}
