import blessed, { type Widgets } from 'blessed';
import { stripControl } from '../render.ts';
import type { Theme } from './theme.ts';

/** A yes/no question over the current screen; Escape and 'n' answer no. */
export function confirmDialog(screen: Widgets.Screen, question: string, theme: Theme): Promise<boolean> {
  return new Promise((resolve) => {
    const text = stripControl(question);
    const width = Math.min(Math.max(text.length + 4, 24), Math.max(screen.width as number - 4, 24));
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
