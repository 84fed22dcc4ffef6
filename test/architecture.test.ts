import assert from 'node:assert/strict';
import { test } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { violations } from '../scripts/lint.mjs';

test('vendor SDKs are imported only by their adapters, and ops never imports a front-end', () => {
  assert.deepEqual(violations(), []);
});

