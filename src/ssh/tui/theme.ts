/** Colours and symbols for the TUI; NO_COLOR (no-color.org) turns colours off, a non-UTF-8 locale turns symbols ASCII. */
export interface Theme {
  color: boolean;
  unicode: boolean;
  title: Record<string, unknown>;
  selected: Record<string, unknown>;
  border: Record<string, unknown>;
  /** Faint text (prompt notes). Never a colour: grey becomes black (ESC[30m) on 8-colour terminfo. */
  dim: Record<string, unknown>;
  /** The footer's key hints: the terminal's own foreground, readable on dark and light backgrounds. */
  hint: Record<string, unknown>;
  error: Record<string, unknown>;
  glyphs: Glyphs;
}

export interface Glyphs {
  /** Between items on the header and footer lines. */
  separator: string;
  /** The up/down keys, in key hints. */
  upDown: string;
  /** The left/right keys, in key hints. */
  leftRight: string;
}

const UNICODE_GLYPHS: Glyphs = { separator: '·', upDown: '↑/↓', leftRight: '←/→' };
const ASCII_GLYPHS: Glyphs = { separator: '|', upDown: 'up/down', leftRight: 'left/right' };

export function themeFor(env: Record<string, string>, unicode: boolean): Theme {
  const color = !('NO_COLOR' in env && env.NO_COLOR !== '');
  const glyphs = unicode ? UNICODE_GLYPHS : ASCII_GLYPHS;
  if (!color) return { color, unicode, glyphs, title: { bold: true }, selected: { inverse: true }, border: {}, dim: {}, hint: {}, error: { bold: true } };
  return {
    color,
    unicode,
    glyphs,
    title: { fg: 'cyan', bold: true },
    selected: { bg: 'blue', fg: 'white', bold: true },
    border: { fg: 'cyan' },
    dim: {},
    hint: {},
    error: { fg: 'red', bold: true },
  };
}
