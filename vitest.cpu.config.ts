// `npx vitest run -c vitest.cpu.config.ts`: the suite as vitest.config.ts runs it, plus one line of
// CPU seconds per test file (test/support/cpu-probe.ts), figures a loaded machine does not change.
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.ts';

export default mergeConfig(base, defineConfig({ test: { setupFiles: ['test/support/cpu-probe.ts'] } }));
