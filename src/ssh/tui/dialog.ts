import blessed, { type Widgets } from 'blessed';
import { stripControl } from '../../core/terminal-text.ts';
import { readInputNow } from './read-input.ts';
import type { Theme } from './theme.ts';

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
      content: `${text}\n\ny: yes   n: no`,
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
    const box = blessed.box({
      parent: screen,
      top: 'center',
      left: 'center',
      width,
      height: note ? 7 : 6,
      border: { type: 'line' },
      style: { border: theme.border },
      tags: false,
      padding: { left: 1, right: 1 },
    });
    blessed.text({ parent: box, top: 0, left: 0, right: 0, height: 1, content: text, tags: false });
    const input = blessed.textbox({ parent: box, top: 2, left: 0, right: 0, height: 1, tags: false, style: theme.selected });
    blessed.text({
      parent: box,
      top: 3,
      left: 0,
      right: 0,
      height: note ? 2 : 1,
      content: (note ? note + '\n' : '') + 'enter: ok   esc: cancel',
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
