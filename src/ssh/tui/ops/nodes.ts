import { nodeCordon, nodeDescribe, nodesList, nodeUncordon } from '../../../ops/nodes/commands.ts';
import { listCount, type TuiApp } from '../apps.ts';
import { allowed } from './permitted.ts';
import { call, TableScreen, type TableAction } from './table-screen.ts';

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
        run: async (row) => screen.showInPane(`node ${name(row)}`, call(nodeDescribe, { name: name(row) })),
      },
    ];
    // Offered only to those the registry would let run them.
    for (const [verb, key, question, handle] of [
      ['cordon', 'c', 'Cordon', nodeCordon],
      ['uncordon', 'u', 'Uncordon', nodeUncordon],
    ] as const) {
      if (allowed(ctx, ['node', verb]))
        actions.push({
          keys: [key],
          label: verb,
          run: (row) => screen.confirmAndRun(`${question} node ${name(row)}?`, call(handle, { name: name(row) }), { doing: `${verb}ing ${name(row)}` }),
        });
    }
    const screen = new TableScreen(ctx, { title: 'Nodes', list: () => call(nodesList, {}), key: 'name', actions });
    return screen;
  },
};
