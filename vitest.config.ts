import { defineConfig } from 'vitest/config';

// Two cores: two forked workers. Engine tests start ONNX Runtime sessions, which are slow to
// create but fast to run; the generous timeouts are for a loaded CI machine, not for slow code.
// test/setup/event-loop.ts fails any test that blocks its worker's event loop long enough to
// endanger vitest's 60 s worker RPC (the "Timeout calling onTaskUpdate" that failed whole runs on a
// busy machine); test/setup/system-reporter.ts lists, at the end, tests skipped for a missing system
// program (test/system.ts) with the command that installs it.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['test/setup/event-loop.ts'],
    reporters: ['default', './test/setup/system-reporter.ts'],
  },
});
