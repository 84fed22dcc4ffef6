import blessed from 'blessed';
import { publicMessage } from '../../core/errors.ts';
import type { Permission } from '../../core/permissions.ts';
import type { TuiApp } from './apps.ts';
import { WORDS } from './keys.ts';
import { renderTui } from './widgets.ts';

/** An app screen that shows the results of read-only registry commands, stacked. */
export function commandApp(def: { id: string; title: string; description: string; permission: Permission | 'authenticated'; commands: string[][] }): TuiApp {
  return {
    ...def,
    open(ctx) {
      ctx.setKeys([{ keys: [ctx.theme.glyphs.upDown], label: WORDS.scroll, help: 'scroll the first pane' }]);
      const share = Math.floor(100 / def.commands.length);
      const panes = def.commands.map((argv, i) => {
        // The last pane reaches the bottom, so rounding never leaves a gap.
        const size = i === def.commands.length - 1 ? { bottom: 0 } : { height: `${share}%` };
        return blessed.box({ parent: ctx.parent, top: `${i * share}%`, left: 0, right: 0, ...size, border: { type: 'line' }, label: ` ${argv.join(' ')} `, style: { border: ctx.theme.border } });
      });
      def.commands.forEach((argv, i) => {
        ctx
          .run(argv)
          .then(({ result }) => {
            const w = renderTui(panes[i]!, result, ctx.theme);
            if (i === 0) w.focus();
          })
          .catch((err: unknown) => {
            blessed.text({ parent: panes[i]!, content: `error: ${publicMessage(err)}`, style: ctx.theme.error });
          })
          .finally(() => ctx.screen.render());
      });
    },
  };
}
