import { defineConfig } from 'vitest/config';

// Real Claude Code and Codex CLI runs: slow and ~1 GB of binaries, so kept out of the default run.
// `npx vitest run --config test/clients/vitest.config.ts`
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/clients/**/*.spec.ts'],
    globalSetup: ['test/clients/install-clients.setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
