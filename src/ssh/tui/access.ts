/**
 * The access admin screens (issue #14): Users (show, role, grant, deny, clear, remove), Roles (show,
 * create, grant, revoke, remove) and Invites (create, withdraw). Every action is a registry command
 * run as the admin (authorized and audited 'via tui'); destructive ones ask first.
 */
import { listCount, type TuiApp, type TuiScreenContext } from './apps.ts';
import { allowed } from './ops/permitted.ts';
import { TableScreen, type Row, type TableAction } from './ops/table-screen.ts';

const field = (row: Row | undefined, key: string) => String(row?.[key] ?? '');

/** An action that asks one line, then runs a command with it (nothing happens on an empty answer). */
function askAndRun(
  ctx: TuiScreenContext,
  screen: () => TableScreen,
  o: {
    keys: string[];
    label: string;
    help: string;
    path: string[];
    question: (row: Row | undefined) => string;
    hint?: string;
    args: (row: Row | undefined, answer: string) => Record<string, unknown>;
    needsRow?: boolean;
    confirm?: (row: Row | undefined, answer: string) => string;
  },
): TableAction[] {
  if (!allowed(ctx, o.path)) return [];
  return [
    {
      keys: o.keys,
      label: o.label,
      help: o.help,
      needsRow: o.needsRow,
      async run(row) {
        const answer = (await screen().prompt(o.question(row), o.hint))?.trim();
        if (!answer) return screen().say('nothing changed');
        const call = { path: o.path, args: o.args(row, answer) };
        if (o.confirm) return screen().confirmAndRun(o.confirm(row, answer), call);
        await screen().runAndReload(call);
      },
    },
  ];
}

export const usersTuiApp: TuiApp = {
  id: 'users',
  title: 'Users',
  description: 'users, their roles, grants and keys',
  permission: 'admin.users',
  count: listCount(['user', 'ls'], 'user', 'users'),
  open(ctx) {
    const name = (row: Row | undefined) => field(row, 'name');
    const get = () => screen;
    const actions: TableAction[] = [
      ...(allowed(ctx, ['user', 'show'])
        ? [
            {
              keys: ['s'],
              label: 'show',
              help: 'role, permissions, own grants and denials, keys',
              run: async (row: Row | undefined) => screen.showInPane(`user ${name(row)}`, { path: ['user', 'show'], args: { name: name(row) } }),
            },
          ]
        : []),
      ...askAndRun(ctx, get, {
        keys: ['r'],
        label: 'role',
        help: "change the user's role",
        path: ['user', 'role'],
        question: (row) => `New role for ${name(row)}?`,
        hint: 'admin, operator, member, guest or a custom role',
        args: (row, role) => ({ name: name(row), role }),
      }),
      ...askAndRun(ctx, get, {
        keys: ['+'],
        label: 'grant',
        help: 'grant the user a permission of their own',
        path: ['user', 'grant'],
        question: (row) => `Permission to grant ${name(row)}?`,
        hint: 'e.g. git.write (see Roles)',
        args: (row, permission) => ({ name: name(row), permission }),
      }),
      ...askAndRun(ctx, get, {
        keys: ['x'],
        label: 'deny',
        help: 'deny the user a permission, whatever the role grants',
        path: ['user', 'deny'],
        question: (row) => `Permission to deny ${name(row)}?`,
        hint: 'e.g. paste',
        args: (row, permission) => ({ name: name(row), permission }),
        confirm: (row, permission) => `Deny ${name(row)} ${permission}? Their role's grant no longer counts for it.`,
      }),
      ...askAndRun(ctx, get, {
        keys: ['c'],
        label: 'clear',
        help: "clear the user's own grant or denial of a permission",
        path: ['user', 'clear'],
        question: (row) => `Permission whose grant or denial to clear for ${name(row)}?`,
        args: (row, permission) => ({ name: name(row), permission }),
      }),
      ...(allowed(ctx, ['user', 'disable'])
        ? [
            {
              keys: ['b'],
              label: 'disable',
              help: 'disable the account (it logs in no more; its connections close), after a confirmation',
              run: (row: Row | undefined) =>
                screen.confirmAndRun(`Disable ${name(row)}? They log in no more and their connections close.`, {
                  path: ['user', 'disable'],
                  args: { name: name(row) },
                }),
            },
            {
              keys: ['e'],
              label: 'enable',
              help: 'enable a disabled account again',
              run: (row: Row | undefined) => screen.runAndReload({ path: ['user', 'enable'], args: { name: name(row) } }),
            },
          ]
        : []),
      ...(allowed(ctx, ['user', 'rm'])
        ? [
            {
              keys: ['d'],
              label: 'remove',
              help: 'delete the user with their keys (their connections close), after a confirmation',
              run: (row: Row | undefined) =>
                screen.confirmAndRun(`Remove user ${name(row)} with their keys? Their open connections close.`, {
                  path: ['user', 'rm'],
                  args: { name: name(row) },
                }),
            },
          ]
        : []),
    ];
    const screen: TableScreen = new TableScreen(ctx, { title: 'Users', list: () => ({ path: ['user', 'ls'] }), key: 'name', actions });
    return screen;
  },
};

export const rolesTuiApp: TuiApp = {
  id: 'roles',
  title: 'Roles',
  description: 'roles and the permissions they grant',
  permission: 'admin.users',
  count: listCount(['role', 'ls'], 'role', 'roles'),
  open(ctx) {
    const role = (row: Row | undefined) => field(row, 'role');
    const get = () => screen;
    const actions: TableAction[] = [
      {
        keys: ['s'],
        label: 'show',
        help: 'every permission, whether the role holds it and why',
        run: async (row) => screen.showInPane(`role ${role(row)}`, { path: ['role', 'show'], args: { role: role(row) } }),
      },
      ...askAndRun(ctx, get, {
        keys: ['n'],
        label: 'new',
        help: 'create a custom role (it starts with no permissions)',
        needsRow: false,
        path: ['role', 'create'],
        question: () => 'Name of the new role?',
        hint: 'a-z, 0-9, _ and -',
        args: (_row, name) => ({ role: name }),
      }),
      ...askAndRun(ctx, get, {
        keys: ['+'],
        label: 'grant',
        help: 'give the role a permission (counts from the next command on)',
        path: ['role', 'grant'],
        question: (row) => `Permission to give ${role(row)}?`,
        hint: 'e.g. git.write',
        args: (row, permission) => ({ role: role(row), permission }),
      }),
      ...askAndRun(ctx, get, {
        keys: ['-'],
        label: 'revoke',
        help: 'take a permission from the role, after a confirmation',
        path: ['role', 'revoke'],
        question: (row) => `Permission to take from ${role(row)}?`,
        args: (row, permission) => ({ role: role(row), permission }),
        confirm: (row, permission) => `Take ${permission} from every ${role(row)}?`,
      }),
      {
        keys: ['d'],
        label: 'remove',
        help: 'remove a custom role nobody holds, after a confirmation',
        run: (row) => screen.confirmAndRun(`Remove role ${role(row)}?`, { path: ['role', 'rm'], args: { role: role(row) } }),
      },
    ];
    const screen: TableScreen = new TableScreen(ctx, { title: 'Roles', list: () => ({ path: ['role', 'ls'] }), key: 'role', actions });
    return screen;
  },
};

export const invitesTuiApp: TuiApp = {
  id: 'invites',
  title: 'Invites',
  description: 'invite codes for new people',
  permission: 'admin.users',
  count: listCount(['invite', 'ls'], 'invite', 'invites'),
  open(ctx) {
    const actions: TableAction[] = [
      {
        keys: ['n'],
        label: 'new',
        help: 'create a single-use invite valid for 7 days; its code is shown once',
        needsRow: false,
        async run() {
          const role = (await screen.prompt('Role for the new account?', 'member, guest, operator, admin or a custom role'))?.trim();
          if (!role) return screen.say('no invite created');
          const result = await ctx.invoke(['invite', 'create'], { role }, { confirmed: true });
          const text = result.kind === 'message' ? result.text : TableScreen.resultText(result);
          screen.openPane('invite: the code is shown once', async (pane) => pane.add(text));
          await screen.reload();
        },
      },
      {
        keys: ['d'],
        label: 'withdraw',
        help: 'withdraw the invite (its code stops working), after a confirmation',
        run: (row) =>
          screen.confirmAndRun(`Withdraw invite ${field(row, 'id')}? Its code stops working.`, {
            path: ['invite', 'rm'],
            args: { id: Number(field(row, 'id')) },
          }),
      },
    ];
    const screen: TableScreen = new TableScreen(ctx, { title: 'Invites', list: () => ({ path: ['invite', 'ls'] }), key: 'id', actions });
    return screen;
  },
};
