import { defineConfig } from 'vitest/config';

// Real peers (OpenSSH, tmux, git, Chromium, Alertmanager) make tests slow by nature: generous
// bounds so a loaded 2-core machine does not fail them, but still a bound so nothing hangs CI.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
