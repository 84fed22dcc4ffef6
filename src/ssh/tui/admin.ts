/** The account and admin screens: Account (whoami and your keys), Users, Roles, Invites (./access.ts), Audit. Every list opens a detail view. */
import { blessed } from './blessed.ts';
import { publicMessage } from '../../core/errors.ts';
import { invitesTuiApp, rolesTuiApp, usersTuiApp } from './access.ts';
import { listCount, type TuiApp } from './apps.ts';
import { TableScreen } from './ops/table-screen.ts';
import { renderTui } from './widgets.ts';

/** Account: who you are (whoami) above your SSH keys (keys ls), Enter on a key shows it whole. */
export const accountTuiApp: TuiApp = {
  id: 'account',
  title: 'Account',
  description: 'who you are and your SSH keys',
  permission: 'authenticated',
  count: listCount(['keys', 'ls'], 'key', 'keys'),
  open(ctx) {
    const who = blessed.box({
      parent: ctx.parent,
      top: 0,
      left: 0,
      right: 0,
      height: '50%',
      border: { type: 'line' },
      label: ' whoami ',
      style: { border: ctx.theme.border },
    });
    const keys = blessed.box({
      parent: ctx.parent,
      top: '50%',
      left: 0,
      right: 0,
      bottom: 0,
      border: { type: 'line' },
      label: ' keys ls ',
      style: { border: ctx.theme.border },
    });
    ctx
      .invoke(['whoami'], {})
      .then((result) => void renderTui(who, result, ctx.theme))
      .catch((err: unknown) => void blessed.text({ parent: who, content: `error: ${publicMessage(err)}`, style: ctx.theme.error }))
      .finally(() => ctx.screen.render());
    return new TableScreen({ ...ctx, parent: keys }, { title: 'Your keys', list: () => ({ path: ['keys', 'ls'] }), key: 'id', actions: [] });
  },
};

export const auditTuiApp: TuiApp = {
  id: 'audit',
  title: 'Audit',
  description: 'what was changed, by whom',
  permission: 'admin.users',
  open: (ctx) => new TableScreen(ctx, { title: 'Audit: the last 7 days', list: () => ({ path: ['audit'], args: { since: '7d' } }), key: 'at', actions: [] }),
};

export const accountTuiApps: TuiApp[] = [accountTuiApp, usersTuiApp, rolesTuiApp, invitesTuiApp, auditTuiApp];
