import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// Real Claude Code and Codex CLI runs: ~1 GB of binaries installed by the global setup, so kept
// in their own run (`npm run test:clients`, part of `npm test`).
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/clients/**/*.spec.ts'],
    globalSetup: ['test/global-setup.ts', 'test/clients/install-clients.setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
