import { defineConfig } from 'vitest/config';

// Two cores: two forked workers. Engine tests start ONNX Runtime sessions, which are slow to
// create but fast to run; the generous timeouts are for a loaded CI machine, not for slow code.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
