import { listCount, type TuiApp } from '../apps.ts';
import { allowed } from './permitted.ts';
import { TableScreen, type TableAction } from './table-screen.ts';

/** Nodes: the `nodes` table, `node describe` in a pane, cordon/uncordon after a confirmation. */
export const nodesTuiApp: TuiApp = {
  id: 'ops-nodes',
  title: 'Nodes',
  description: 'cluster nodes: describe, cordon, uncordon',
  permission: 'ops.read',
  count: listCount(['nodes'], 'node', 'nodes'),
  needs: ['nodes'],
  open(ctx) {
    const name = (row: Parameters<TableAction['run']>[0]) => String(row!.name);
    const actions: TableAction[] = [
      {
        keys: ['enter'],
        label: 'describe',
        run: async (row) => screen.showInPane(`node ${name(row)}`, { path: ['node', 'describe'], args: { name: name(row) } }),
      },
    ];
    // Offered only to those the registry would let run them.
    for (const [verb, key, question] of [
      ['cordon', 'c', 'Cordon'],
      ['uncordon', 'u', 'Uncordon'],
    ] as const) {
      if (allowed(ctx, ['node', verb]))
        actions.push({
          keys: [key],
          label: verb,
          run: (row) =>
            screen.confirmAndRun(`${question} node ${name(row)}?`, { path: ['node', verb], args: { name: name(row) } }, { doing: `${verb}ing ${name(row)}` }),
        });
    }
    const screen = new TableScreen(ctx, { title: 'Nodes', list: () => ({ path: ['nodes'] }), key: 'name', actions });
    return screen;
  },
};
