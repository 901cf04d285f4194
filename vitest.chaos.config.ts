import { defineConfig } from 'vitest/config';

/*
 * `npm run chaos` / `npm run chaos:long`: the fault scenarios of docs/reliability.md.
 * The short ones also run in `npm test` (vitest.config.ts); the ones that take minutes run
 * only here. Each prints its table row; the global teardown prints the table of the run.
 */
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    fileParallelism: false,
    // The soak runs 30 minutes plus its drain.
    testTimeout: 45 * 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    globalSetup: ['test/chaos/support/print-table.ts'],
    // Keep each scenario's row in test/chaos/results (npm test only prints it).
    env: { CHAOS_RECORD: '1' },
  },
});
