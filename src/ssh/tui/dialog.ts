import type { Widgets } from 'blessed';
import { blessed } from './blessed.ts';
import { stripControl } from '../../core/terminal-text.ts';
import { readInputNow } from './read-input.ts';
import type { Theme } from './theme.ts';
import { wrapWords } from './wrap.ts';

/** A yes/no question over the current screen; Escape and 'n' answer no. */
export function confirmDialog(screen: Widgets.Screen, question: string, theme: Theme): Promise<boolean> {
  return new Promise((resolve) => {
    const text = stripControl(question);
    const width = Math.min(Math.max(text.length + 4, 24), Math.max((screen.width as number) - 4, 24));
    const box = blessed.box({
      parent: screen,
      top: 'center',
      left: 'center',
      width,
      height: 'shrink',
      border: { type: 'line' },
      style: { border: theme.border },
      // Wrapped at words for the inside (less border and padding), not cut mid-word by blessed.
      content: `${wrapWords(text, width - 4)}\n\ny: yes   n: no`,
      tags: false,
      padding: { left: 1, right: 1 },
    });
    const done = (answer: boolean) => {
      for (const key of ['y', 'n', 'escape']) screen.unkey(key, handler);
      box.destroy();
      screen.render();
      resolve(answer);
    };
    const handler = (_ch: unknown, key: { name: string }) => done(key.name === 'y');
    screen.key(['y', 'n', 'escape'], handler);
    box.focus();
    screen.render();
  });
}

/**
 * Asks for one line of text in a dialog: Enter answers (possibly empty), Escape cancels (null).
 * The input grabs the keys while it reads, so the screen's own keys (q, Escape) wait until it is done.
 */
export function promptDialog(screen: Widgets.Screen, question: string, theme: Theme, hint = ''): Promise<string | null> {
  return new Promise((resolve) => {
    const text = stripControl(question);
    const note = stripControl(hint);
    const width = Math.min(Math.max(text.length, note.length, 40) + 4, Math.max((screen.width as number) - 4, 24));
    // Question and note wrapped at words for the inside (less border and padding); the box grows to hold them.
    const lines = wrapWords(text, width - 4).split('\n');
    const noteLines = note ? wrapWords(note, width - 4).split('\n') : [];
    const box = blessed.box({
      parent: screen,
      top: 'center',
      left: 'center',
      width,
      height: lines.length + noteLines.length + 5,
      border: { type: 'line' },
      style: { border: theme.border },
      tags: false,
      padding: { left: 1, right: 1 },
    });
    blessed.text({ parent: box, top: 0, left: 0, right: 0, height: lines.length, content: lines.join('\n'), tags: false });
    const input = blessed.textbox({ parent: box, top: lines.length + 1, left: 0, right: 0, height: 1, tags: false, style: theme.selected });
    blessed.text({
      parent: box,
      top: lines.length + 2,
      left: 0,
      right: 0,
      height: noteLines.length + 1,
      content: [...noteLines, 'enter: ok   esc: cancel'].join('\n'),
      tags: false,
      style: theme.dim,
    });
    readInputNow(input, (_err, value) => {
      box.destroy();
      screen.render();
      resolve(typeof value === 'string' ? value : null);
    });
    screen.render();
  });
}
