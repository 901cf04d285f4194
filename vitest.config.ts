import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The chaos scenarios that take minutes run only under `npm run chaos` / `chaos:long`
    // (vitest.chaos.config.ts); the short ones in test/chaos/short run here too.
    exclude: [...configDefaults.exclude, 'test/chaos/minutes/**', 'test/chaos/long/**'],
    // Two test files at a time: integration tests spend most of their time waiting on
    // emulators, relay processes and lease timers, so the second core is otherwise idle.
    // Every file starts its own emulators on free ports and writes under its own temporary
    // directories, so files do not share state (docs/reliability.md has the timings).
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
