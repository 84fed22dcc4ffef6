import assert from 'node:assert/strict';
import { test } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { violations } from '../scripts/lint.mjs';
import { RESULT_KINDS } from '../src/ops/result.ts';
import { matrixRenderers } from '../src/bot/render.ts';
import { textRenderers } from '../src/ssh/render.ts';
import { tuiRenderers } from '../src/ssh/tui/widgets.ts';

test('vendor SDKs are imported only by their adapters, and ops never imports a front-end', () => {
  assert.deepEqual(violations(), []);
});

test('every result kind has a renderer on every surface', () => {
  for (const kind of RESULT_KINDS) {
    assert.equal(typeof textRenderers[kind], 'function', `text renderer for ${kind}`);
    assert.equal(typeof tuiRenderers[kind], 'function', `TUI renderer for ${kind}`);
    assert.equal(typeof matrixRenderers[kind], 'function', `Matrix renderer for ${kind}`);
  }
});
