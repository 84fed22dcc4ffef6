/** Colours and symbols for the TUI; NO_COLOR (no-color.org) turns colours off, a non-UTF-8 locale turns symbols ASCII. */
export interface Theme {
  color: boolean;
  unicode: boolean;
  title: Record<string, unknown>;
  selected: Record<string, unknown>;
  border: Record<string, unknown>;
  dim: Record<string, unknown>;
  error: Record<string, unknown>;
  glyphs: Glyphs;
}

export interface Glyphs {
  /** Between items on the header and footer lines. */
  separator: string;
  /** The up/down keys, in key hints. */
  upDown: string;
}

const UNICODE_GLYPHS: Glyphs = { separator: '·', upDown: '↑/↓' };
const ASCII_GLYPHS: Glyphs = { separator: '|', upDown: 'up/down' };

export function themeFor(env: Record<string, string>, unicode: boolean): Theme {
  const color = !('NO_COLOR' in env && env.NO_COLOR !== '');
  const glyphs = unicode ? UNICODE_GLYPHS : ASCII_GLYPHS;
  if (!color) return { color, unicode, glyphs, title: { bold: true }, selected: { inverse: true }, border: {}, dim: {}, error: { bold: true } };
  return { color, unicode, glyphs, title: { fg: 'cyan', bold: true }, selected: { bg: 'blue', fg: 'white', bold: true }, border: { fg: 'cyan' }, dim: { fg: 'grey' }, error: { fg: 'red', bold: true } };
}
