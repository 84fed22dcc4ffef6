/** The one-line status under an app's screen, and the guard that reports a failed action there. */
import type { Widgets } from 'blessed';
import { blessed } from './blessed.ts';
import { publicMessage } from '../../core/errors.ts';
import { stripControl } from '../../core/terminal-text.ts';
import type { TuiScreenContext } from './apps.ts';

export class StatusLine {
  private readonly box: Widgets.BoxElement;

  constructor(private readonly ctx: Pick<TuiScreenContext, 'parent' | 'screen' | 'theme' | 'signal'>) {
    this.box = blessed.box({ parent: ctx.parent, bottom: 0, left: 1, right: 1, height: 1, tags: false, content: '' });
  }

  /** Shows a message (control characters stripped: it may quote user data), in the error style when `error`. */
  say(text: string, error = false): void {
    this.box.style = error ? { ...this.ctx.theme.error } : {};
    this.box.setContent(stripControl(text));
    this.ctx.screen.render();
  }

  /** Runs an action from a key press; a failure is said on the line instead of escaping the event handler. */
  guard(fn: () => Promise<void>): void {
    fn().catch((err: unknown) => {
      if (!this.ctx.signal.aborted) this.say(`error: ${publicMessage(err)}`, true);
    });
  }
}
