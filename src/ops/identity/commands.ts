import { z } from 'zod';
import { NotFound, PermissionDenied, UsageError } from '../../core/errors.ts';
import { ROLES } from '../../core/permissions.ts';
import type { CommandContext } from '../context.ts';
import { defineCommand } from '../registry.ts';
import type { IdentityStore } from './store.ts';
import type { AnyCommand } from '../registry.ts';
import { readStdinText } from '../stdin.ts';
import type { Result } from '../result.ts';
import { KEY_INPUT_LIMIT, parseKeyText, readKeyInput } from './stdin-key.ts';

/** Account and user commands, on the identity store the composition root built. */
export function identityCommands(identities: IdentityStore): AnyCommand[] {

function currentUser(ctx: CommandContext) {
  if (ctx.actor.userId === null) throw new UsageError('this command needs a labd user');
  const user = identities.userById(ctx.actor.userId);
  if (!user) throw new NotFound('your user no longer exists');
  return user;
}

const whoami = defineCommand({
  path: ['whoami'],
  summary: 'Show who you are logged in as, your role and how you came in',
  args: z.object({}),
  permission: 'authenticated',
  mutating: false,
  results: ['record'],
  async run(ctx) {
    const a = ctx.actor;
    const permissions = ctx.rolePermissions[a.role];
    const cred = a.credential;
    const json = {
      user: a.name,
      role: a.role,
      via: a.via,
      permissions,
      credential: cred ?? null,
      remoteAddress: a.remoteAddress ?? null,
    };
    const how = !cred ? '-' : cred.kind === 'cert' ? `certificate "${cred.keyId}" (serial ${cred.serial}, principal ${cred.principal})` : cred.kind === 'key' ? `key ${cred.fingerprint}` : cred.kind === 'matrix' ? `Matrix ${cred.mxid}` : 'system';
    return {
      kind: 'record',
      fields: [
        { label: 'user', value: a.name },
        { label: 'role', value: a.role },
        { label: 'via', value: a.via },
        { label: 'authenticated by', value: how },
        { label: 'permissions', value: permissions.join(', ') },
      ],
      json,
    };
  },
});

const keysLs = defineCommand({
  path: ['keys', 'ls'],
  summary: 'List the public keys registered to you',
  args: z.object({}),
  permission: 'authenticated',
  mutating: false,
  results: ['table'],
  async run(ctx) {
    const user = currentUser(ctx);
    const rows = identities.keysOf(user.id).map((k) => ({ id: k.id, fingerprint: k.fingerprint, algo: k.algo, comment: k.comment, source: k.source, added: k.createdAt.toISOString(), lastUsed: k.lastUsedAt?.toISOString() ?? null }));
    return { kind: 'table', columns: [{ key: 'id', label: 'ID' }, { key: 'fingerprint', label: 'FINGERPRINT' }, { key: 'algo', label: 'TYPE' }, { key: 'comment', label: 'COMMENT' }, { key: 'lastUsed', label: 'LAST USED' }], rows, empty: "no keys registered (add one with: keys add < key.pub)" };
  },
});

const keysAdd = defineCommand({
  path: ['keys', 'add'],
  summary: 'Register a public key (read from stdin) to log in with',
  details: [
    'example: ssh HOST keys add < ~/.ssh/id_ed25519.pub',
    'admins: ssh HOST keys add --user carol < carol.pub (adds a key to another user; you vouch for it, and the audit log says so)',
  ].join('\n'),
  args: z.object({
    comment: z.string().max(100).optional().describe('a name for the key, one word (default: the key file comment)'),
    user: z.string().optional().describe('add the key to this user instead of you (needs admin.users)'),
  }),
  permission: 'authenticated',
  mutating: true,
  results: ['message'],
  needsIO: true,
  authorize(ctx, args) {
    if (args.user !== undefined && !ctx.can('admin.users')) throw new PermissionDenied(`permission denied: 'keys add --user' needs admin.users (you are ${ctx.actor.role})`);
  },
  async run(ctx, args) {
    if (args.user !== undefined) return addKeyForUser(ctx, args.user, args.comment);
    const user = currentUser(ctx);
    const text = await readStdinText(ctx, KEY_INPUT_LIMIT);
    const key = parseKeyText(text, 'stdin');
    if (!key) throw new UsageError('no public key on stdin (example: keys add < ~/.ssh/id_ed25519.pub)');
    const comment = (args.comment ?? key.comment).replace(/[^\x20-\x7e]/g, '').slice(0, 100);
    const row = identities.addKey(user.id, { ...key, comment });
    return { kind: 'message', text: `added key ${row.id}: ${key.fingerprint} (${key.algo}${comment ? ', ' + comment : ''})`, json: { id: row.id, fingerprint: key.fingerprint, algo: key.algo, comment } };
  },
});

/**
 * An admin adds a key to someone else's account. There is no proof of possession here: the admin
 * vouches for the key (it came to them out of band), so it needs admin.users, and the audit row
 * (command `keys add`, args.user) records who vouched for whose key.
 */
async function addKeyForUser(ctx: CommandContext, name: string, commentArg: string | undefined): Promise<Result> {
  const s = identities;
  const user = s.requireUser(name);
  const key = parseKeyText(await readStdinText(ctx, KEY_INPUT_LIMIT), 'stdin');
  if (!key) throw new UsageError(`no public key on stdin (example: keys add --user ${user.name} < key.pub)`);
  const comment = (commentArg ?? key.comment).replace(/[^\x20-\x7e]/g, '').slice(0, 100);
  const row = s.addKey(user.id, { ...key, comment });
  ctx.log.info({ admin: ctx.actor.name, user: user.name, fingerprint: key.fingerprint }, 'admin added a key to another user');
  return {
    kind: 'message',
    text: `added key ${row.id} to ${user.name}: ${key.fingerprint} (${key.algo}${comment ? ', ' + comment : ''}), vouched for by ${ctx.actor.name}`,
    json: { id: row.id, user: user.name, fingerprint: key.fingerprint, algo: key.algo, comment, vouchedBy: ctx.actor.name },
  };
}

const keysRm = defineCommand({
  path: ['keys', 'rm'],
  summary: 'Remove one of your keys, by ID or fingerprint',
  args: z.object({ key: z.string().min(1).describe('the ID or SHA256 fingerprint shown by keys ls') }),
  positionals: ['key'],
  permission: 'authenticated',
  mutating: true,
  results: ['message'],
  destructive: true,
  async run(ctx, args) {
    const user = currentUser(ctx);
    const removed = identities.removeKey(user.id, args.key);
    return { kind: 'message', text: `removed key ${removed.id}: ${removed.fingerprint}`, json: { id: removed.id, fingerprint: removed.fingerprint } };
  },
});

const role = z.enum(ROLES);

const userLs = defineCommand({
  path: ['user', 'ls'],
  summary: 'List users',
  args: z.object({}),
  permission: 'admin.users',
  mutating: false,
  results: ['table'],
  async run(ctx) {
    const rows = identities.listUsers().map((u) => ({ name: u.name, role: u.role, keys: u.keys, created: u.createdAt.toISOString() }));
    return { kind: 'table', columns: [{ key: 'name', label: 'NAME' }, { key: 'role', label: 'ROLE' }, { key: 'keys', label: 'KEYS' }, { key: 'created', label: 'CREATED' }], rows };
  },
});

const userAdd = defineCommand({
  path: ['user', 'add'],
  summary: 'Create a user, with the public key they log in with on stdin',
  details: 'example: ssh HOST user add carol --role operator < carol.pub\nWithout a key on stdin (< /dev/null) the user can log in only with a certificate.',
  args: z.object({
    name: z.string().describe('user name: a-z, 0-9, _ and -'),
    role: role.default('member').describe(`one of ${ROLES.join(', ')} (default member)`),
    key: z.string().optional().describe('a public key line as ONE word (quote it twice over ssh); stdin is simpler'),
  }),
  positionals: ['name'],
  permission: 'admin.users',
  mutating: true,
  results: ['message'],
  async run(ctx, args) {
    const s = identities;
    const fromFlag = args.key !== undefined ? parseKeyText(args.key, '--key') : undefined;
    if (args.key !== undefined && !fromFlag) throw new UsageError('--key: empty');
    const fromStdin = parseKeyText(await readKeyInput(ctx), 'stdin');
    if (fromFlag && fromStdin) throw new UsageError('give the key on stdin or with --key, not both');
    const key = fromFlag ?? fromStdin;
    const user = s.transaction(() => {
      const u = s.createUser(args.name, args.role);
      if (key) s.addKey(u.id, key);
      return u;
    });
    return { kind: 'message', text: `created user ${user.name} (${user.role})${key ? ' with key ' + key.fingerprint : ', no key (certificate logins only; add one with: keys add --user ' + user.name + ' < key.pub)'}`, json: { name: user.name, role: user.role, key: key?.fingerprint ?? null } };
  },
});

const userRm = defineCommand({
  path: ['user', 'rm'],
  summary: 'Delete a user with their keys and linked identities',
  args: z.object({ name: z.string().min(1) }),
  positionals: ['name'],
  permission: 'admin.users',
  mutating: true,
  results: ['message'],
  destructive: true,
  async run(ctx, args) {
    if (args.name === ctx.actor.name) throw new UsageError('you cannot remove yourself');
    identities.removeUser(args.name);
    return { kind: 'message', text: `removed user ${args.name}`, json: { name: args.name, removed: true } };
  },
});

const userRole = defineCommand({
  path: ['user', 'role'],
  summary: "Change a user's role",
  args: z.object({ name: z.string().min(1), role }),
  positionals: ['name', 'role'],
  permission: 'admin.users',
  mutating: true,
  results: ['message'],
  async run(ctx, args) {
    const user = identities.setRole(args.name, args.role);
    return { kind: 'message', text: `${user.name} is now ${user.role}`, json: { name: user.name, role: user.role } };
  },
});

return [whoami, keysLs, keysAdd, keysRm, userLs, userAdd, userRm, userRole];
}
