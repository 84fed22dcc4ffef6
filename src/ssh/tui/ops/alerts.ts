import { alertAck, alertsList, alertUnack } from '../../../ops/alerts/commands.ts';
import { listCount, type TuiApp } from '../apps.ts';
import { allowed } from './permitted.ts';
import { call, TableScreen, type TableAction } from './table-screen.ts';

const FIRING_TITLE = 'Alerts: firing, not acknowledged';
const ALL_TITLE = 'Alerts: all groups';

/** Alerts: the `alerts` table (t toggles --all), ack with a duration and comment, unack after a confirmation. */
export const alertsTuiApp: TuiApp = {
  id: 'ops-alerts',
  title: 'Alerts',
  description: 'alert groups: acknowledge, take back',
  // What `alerts` itself declares.
  permission: 'ops.read',
  count: listCount(['alerts'], 'group to acknowledge', 'groups to acknowledge'),
  needs: ['alerts'],
  open(ctx) {
    let all = false;
    const actions: TableAction[] = [
      {
        keys: ['t'],
        label: 'firing/all',
        needsRow: false,
        async run() {
          all = !all;
          screen.setTitle(all ? ALL_TITLE : FIRING_TITLE);
          await screen.reload();
        },
      },
    ];
    if (allowed(ctx, ['ack'])) {
      actions.push({
        keys: ['a'],
        label: 'ack',
        async run(row) {
          const id = String(row!.id);
          const length = await screen.prompt(`Acknowledge alert group ${id} for how long?`, 'e.g. 30m, 2h, 1d; empty: while it fires');
          if (length === null) return screen.say('not acknowledged');
          const comment = await screen.prompt('Comment (optional)');
          if (comment === null) return screen.say('not acknowledged');
          const args = { alert: id, ...(length.trim() ? { for: length.trim() } : {}), ...(comment.trim() ? { comment: [comment.trim()] } : {}) };
          await screen.runAndReload(call(alertAck, args), { doing: `acknowledging alert group ${id}` });
        },
      });
    }
    if (allowed(ctx, ['unack'])) {
      actions.push({
        keys: ['S-u'],
        label: 'unack',
        run: (row) => screen.confirmAndRun(`Take back the acknowledgement of alert group ${String(row!.id)}?`, call(alertUnack, { alert: String(row!.id) })),
      });
    }
    const screen = new TableScreen(ctx, { title: FIRING_TITLE, list: () => call(alertsList, { all }), key: 'id', actions });
    return screen;
  },
};
