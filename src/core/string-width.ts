/**
 * string-width, loaded on first use: it builds an `Intl.Segmenter` when it is imported, which maps ICU's
 * segmentation data from the node binary (≈ 6 MB of file-backed pages) into a labd that may never
 * measure a string (labd at rest, bench/rest-memory; issue 22). An ES module: Node ≥ 22.12 requires it
 * synchronously.
 */
import type StringWidthModule from 'string-width';
import { lazyRequire } from './lazy-require.ts';

const loadStringWidth = lazyRequire<{ default: typeof StringWidthModule }>('string-width');

/** The columns `text` takes on a terminal (string-width's rules: graphemes, East Asian width, ANSI escapes ignored). */
export function stringWidth(text: string, options?: Parameters<typeof StringWidthModule>[1]): number {
  return loadStringWidth().default(text, options);
}
