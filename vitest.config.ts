import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The chaos scenarios that take minutes run only under `npm run chaos` / `chaos:long`
    // (vitest.chaos.config.ts); the short ones in test/chaos/short run here too.
    exclude: [...configDefaults.exclude, 'test/chaos/minutes/**', 'test/chaos/long/**'],
    // Integration tests start real emulators and child processes; two cores are all CI has.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
