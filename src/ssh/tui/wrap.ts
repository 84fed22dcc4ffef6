/**
 * Word wrapping for the TUI. blessed wraps a long line where it reaches the edge and looks back
 * only ten characters for a space, so a longer word is cut in two (`kube.kubeco` / `nfig`). Text
 * boxes here are given their text wrapped at spaces for their inner width instead, again whenever
 * that width changes; only a word longer than the whole line is cut.
 */
import type { Widgets } from 'blessed';
import { stringWidth } from '../../core/string-width.ts';

/** `text` with every line broken at spaces to at most `width` display cells; indentation is kept. */
export function wrapWords(text: string, width: number): string {
  const room = Math.max(1, Math.floor(width));
  return text
    .split('\n')
    .flatMap((line) => wrapLine(line, room))
    .join('\n');
}

function wrapLine(line: string, width: number): string[] {
  if (stringWidth(line) <= width) return [line];
  const indent = /^ */.exec(line)![0].slice(0, Math.floor(width / 2));
  // Words with the spaces after them, so padding inside a line ("NAME:   value") is kept.
  const words = line.slice(indent.length).split(/(?<= )(?=\S)/);
  const out: string[] = [];
  let current = indent;
  for (let word of words) {
    if (current.trim() && stringWidth(current + word.trimEnd()) > width) {
      out.push(current.trimEnd());
      current = indent;
    }
    // A word longer than a whole line: cut it (there is no better place).
    while (stringWidth(current + word.trimEnd()) > width) {
      const [head, tail] = splitAtWidth(word, Math.max(1, width - stringWidth(current)));
      out.push((current + head).trimEnd());
      current = indent;
      word = tail;
    }
    current += word;
  }
  if (current.trim()) out.push(current.trimEnd());
  return out;
}

function splitAtWidth(text: string, width: number): [string, string] {
  let used = 0;
  let i = 0;
  for (const ch of text) {
    const w = stringWidth(ch);
    if (used + w > width && i > 0) break;
    used += w;
    i += ch.length;
  }
  return [text.slice(0, i), text.slice(i)];
}

/**
 * Keeps `box` showing `text` wrapped at word boundaries for its inner width (less a column for a
 * scrollbar), re-wrapped before a render whenever that width changed. Plain (untagged) text only.
 * Returns the function that replaces the text.
 */
export function wrapInto(box: Widgets.BoxElement, text: string, o: { scrollbar?: boolean } = {}): (text: string) => void {
  let source = text;
  let wrappedFor = -1;
  const inner = () => (box.width as number) - (box.iwidth as number) - (o.scrollbar ? 1 : 0);
  const apply = () => {
    const width = inner();
    if (width <= 0) return;
    wrappedFor = width;
    box.setContent(wrapWords(source, width));
  };
  box.on('prerender', () => {
    if (inner() !== wrappedFor) apply();
  });
  apply();
  return (next: string) => {
    source = next;
    apply();
  };
}
