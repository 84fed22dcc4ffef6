import type { TuiApp } from '../apps.ts';
import { allowed } from './permitted.ts';
import { TableScreen, type TableAction } from './table-screen.ts';

/** Nodes: the `nodes` table, `node describe` in a pane, cordon/uncordon after a confirmation. */
export const nodesTuiApp: TuiApp = {
  id: 'ops-nodes',
  title: 'Nodes',
  description: 'cluster nodes: describe, cordon, uncordon',
  permission: 'ops.read',
  open(ctx) {
    const actions: TableAction[] = [
      {
        keys: ['enter'],
        label: 'describe',
        async run(row) {
          const name = String(row!.name);
          screen.openPane(`node ${name}`, async (pane) => {
            const { result } = await ctx.run(['node', 'describe', name], { signal: pane.signal });
            pane.add(TableScreen.resultText(result));
          });
        },
      },
    ];
    const cordon = (verb: 'cordon' | 'uncordon', key: string): TableAction => ({
      keys: [key],
      label: verb,
      async run(row) {
        const name = String(row!.name);
        if (!(await screen.confirm(`${verb === 'cordon' ? 'Cordon' : 'Uncordon'} node ${name}?`))) return screen.say('nothing changed');
        screen.say(`${verb}ing ${name}`);
        const { result } = await ctx.run(['node', verb, name], { confirmed: true });
        screen.say(TableScreen.resultText(result));
        await screen.reload();
      },
    });
    // Offered only to those the registry would let run them.
    if (allowed(ctx, ['node', 'cordon'])) actions.push(cordon('cordon', 'c'));
    if (allowed(ctx, ['node', 'uncordon'])) actions.push(cordon('uncordon', 'u'));
    const screen = new TableScreen(ctx, { title: 'Nodes', argv: () => ['nodes'], key: 'name', actions });
    return screen;
  },
};
