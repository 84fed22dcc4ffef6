/** Colours for the TUI; NO_COLOR (no-color.org) turns them all off. */
export interface Theme {
  color: boolean;
  title: Record<string, unknown>;
  selected: Record<string, unknown>;
  border: Record<string, unknown>;
  dim: Record<string, unknown>;
  error: Record<string, unknown>;
}

export function themeFor(env: Record<string, string>): Theme {
  const color = !('NO_COLOR' in env && env.NO_COLOR !== '');
  if (!color) return { color, title: { bold: true }, selected: { inverse: true }, border: {}, dim: {}, error: { bold: true } };
  return { color, title: { fg: 'cyan', bold: true }, selected: { bg: 'blue', fg: 'white', bold: true }, border: { fg: 'cyan' }, dim: { fg: 'grey' }, error: { fg: 'red', bold: true } };
}
