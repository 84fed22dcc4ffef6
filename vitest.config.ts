import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/support/sequencer.ts';

// Real peers (OpenSSH, tmux, git, Chromium, Alertmanager) make tests slow by nature: generous
// bounds so a loaded 2-core machine does not fail them, but still a bound so nothing hangs CI.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Spawned labds run dist/ (as npm start does): built once here when src/ changed.
    globalSetup: ['test/support/build-dist-setup.ts'],
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
    fileParallelism: true,
    // Four files at a time on two cores: tests mostly wait on their peers (two workers kept the CPUs
    // about 60 % busy). Three took the suite from 291 s to 226 s. Once the TUI tests stopped starting
    // a tmux client per screen read, four took npm test from about 5 min to 3 min 52-54 s, with the
    // lint beside them (scripts/test.mjs); five were slower (4 min 37 s), the CPUs being full.
    maxWorkers: 4,
    // Files in one worker share the module graph (src/ is imported once per worker, not per file):
    // most tests boot labd in-process (test/support/labd-inprocess.ts). Safe because no test file
    // mocks modules or stubs globals, the one with fake timers restores them after each test, no
    // test changes process.env or the current directory, and src/ keeps no module-level state but
    // parse caches (terminfo entries, lazily loaded SDKs).
    isolate: false,
    // Longest files first (test/durations.json), in CI too, where vitest has no cache of durations.
    sequence: { sequencer: LongestFirstSequencer },
    reporters: ['default'],
  },
});
