import type { TuiApp } from '../apps.ts';
import { allowed } from './permitted.ts';
import { TableScreen, type TableAction } from './table-screen.ts';

/** Deploys: the `deploys` table, `rollout` status in a pane, restart after a confirmation with its progress. */
export const deploysTuiApp: TuiApp = {
  id: 'ops-deploys',
  title: 'Deploys',
  description: 'deployments: rollout status, restart',
  permission: 'ops.read',
  open(ctx) {
    const actions: TableAction[] = [
      {
        keys: ['enter'],
        label: 'rollout status',
        async run(row) {
          const ref = String(row!.name);
          screen.openPane(`rollout ${ref}`, async (pane) => {
            pane.add(`following the rollout of ${ref}`);
            const { result } = await ctx.run(['rollout', ref], { signal: pane.signal, onProgress: (m) => pane.add(m) });
            pane.add(TableScreen.resultText(result));
          });
        },
      },
    ];
    if (allowed(ctx, ['restart'])) {
      actions.push({
        keys: ['r'],
        label: 'restart',
        async run(row) {
          const ref = String(row!.name);
          if (!(await screen.confirm(`Restart deployment ${ref} (a rolling restart of its pods)?`))) return screen.say('nothing changed');
          screen.say(`restarting ${ref}`);
          const { result } = await ctx.run(['restart', ref, '--wait'], { confirmed: true, onProgress: (m) => screen.say(m) });
          screen.say(TableScreen.resultText(result));
          await screen.reload();
        },
      });
    }
    const screen = new TableScreen(ctx, { title: 'Deploys', argv: () => ['deploys'], key: 'name', actions });
    return screen;
  },
};
