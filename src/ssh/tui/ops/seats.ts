import { seatAdd, seatLs, seatRm } from '../../../ops/seats/commands.ts';
import { qrText } from '../../../ops/seats/qr.ts';
import { listCount, type TuiApp } from '../apps.ts';
import { allowed } from './permitted.ts';
import { call, TableScreen, type TableAction } from './table-screen.ts';

/** A seat name as `seat add` takes it (a DNS label); checked here only to ask again instead of failing. */
const SEAT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Seats: the `seat ls` table; a adds a seat and shows its wg-quick config with a QR code once (the
 * private key is never stored, so closing the pane is the last chance to scan it); d removes one
 * after a confirmation. Both run the registry's seat commands, so they are authorized and audited.
 */
export const seatsTuiApp: TuiApp = {
  id: 'ops-seats',
  title: 'Seats',
  description: "people's devices on the lab network (WireGuard)",
  permission: 'ops.keys',
  count: listCount(['seat', 'ls'], 'seat', 'seats'),
  // Marked on the home menu while seats.endpoint is not set, not only once someone tries to add one.
  needs: ['seat', 'add'],
  open(ctx) {
    const name = (row: Parameters<TableAction['run']>[0]) => String(row!.name);
    const actions: TableAction[] = [];
    if (allowed(ctx, ['seat', 'add'])) {
      actions.push({
        keys: ['a'],
        label: 'add',
        help: 'add a device: its config and QR code are shown once',
        needsRow: false,
        async run() {
          const answer = await screen.prompt('Name of the new seat (device)?', 'e.g. alice-phone: lower-case letters, digits and -');
          const seat = answer?.trim();
          if (!seat) return screen.say('no seat added');
          if (!SEAT_NAME.test(seat)) return screen.say(`'${seat}' is not a seat name (lower-case letters, digits and -)`, true);
          screen.say(`adding seat ${seat}`);
          const { json } = await ctx.invoke(seatAdd, { name: seat }, { confirmed: true });
          const config = json.config;
          const qr = ctx.theme.unicode ? `\n${qrText(config)}` : '\n(the QR code needs a UTF-8 terminal: LANG=C.UTF-8)\n';
          screen.openPane(`seat ${seat}: shown once`, async (pane) => {
            pane.add(`${json.message}. This config holds the device's private key: it is shown only now.\n`);
            pane.add(config.trimEnd());
            pane.add(qr);
          });
          await screen.reload();
        },
      });
    }
    if (allowed(ctx, ['seat', 'rm'])) {
      actions.push({
        keys: ['d'],
        label: 'remove',
        help: 'remove the seat (its device is cut off), after a confirmation',
        run: (row) =>
          screen.confirmAndRun(`Remove seat ${name(row)}? Its device loses access to the lab.`, call(seatRm, { name: name(row) }), {
            doing: `removing ${name(row)}`,
          }),
      });
    }
    const screen = new TableScreen(ctx, { title: 'Seats', list: () => call(seatLs, {}), key: 'name', actions });
    return screen;
  },
};
