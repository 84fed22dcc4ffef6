import { deployRestart, deployRollout, deploysList } from '../../../ops/deploys/commands.ts';
import { listCount, type TuiApp } from '../apps.ts';
import { allowed } from './permitted.ts';
import { call, TableScreen, type TableAction } from './table-screen.ts';

/** Deploys: the `deploys` table, `rollout` status in a pane, restart after a confirmation with its progress. */
export const deploysTuiApp: TuiApp = {
  id: 'ops-deploys',
  title: 'Deploys',
  description: 'deployments: rollout status, restart',
  permission: 'ops.read',
  count: listCount(['deploys'], 'deployment', 'deployments'),
  needs: ['deploys'],
  open(ctx) {
    const ref = (row: Parameters<TableAction['run']>[0]) => String(row!.name);
    const actions: TableAction[] = [
      {
        keys: ['enter'],
        label: 'rollout status',
        run: async (row) =>
          screen.showInPane(`rollout ${ref(row)}`, call(deployRollout, { deployment: ref(row) }), { intro: `following the rollout of ${ref(row)}` }),
      },
    ];
    if (allowed(ctx, ['restart'])) {
      actions.push({
        keys: ['r'],
        label: 'restart',
        run: (row) =>
          screen.confirmAndRun(`Restart deployment ${ref(row)} (a rolling restart of its pods)?`, call(deployRestart, { deployment: ref(row), wait: true }), {
            doing: `restarting ${ref(row)}`,
            progress: true,
          }),
      });
    }
    const screen = new TableScreen(ctx, { title: 'Deploys', list: () => call(deploysList, {}), key: 'name', actions });
    return screen;
  },
};
