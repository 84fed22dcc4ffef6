import { z } from 'zod';
import { NotFound, UsageError } from '../../core/errors.ts';
import { ROLES } from '../../core/permissions.ts';
import { fingerprint, formatPublicKey, parsePublicKeyLine } from '../../core/sshwire/keys.ts';
import type { CommandContext } from '../context.ts';
import { defineCommand } from '../registry.ts';
import type { IdentityStore } from './store.ts';
import type { AnyCommand } from '../registry.ts';
import { readStdinText } from '../stdin.ts';

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
  details: 'example: ssh HOST keys add < ~/.ssh/id_ed25519.pub',
  args: z.object({ comment: z.string().max(100).optional().describe('a name for the key (default: the key file comment)') }),
  permission: 'authenticated',
  mutating: true,
  results: ['message'],
  needsIO: true,
  async run(ctx, args) {
    const user = currentUser(ctx);
    const text = (await readStdinText(ctx, 16 * 1024)).trim();
    const lines = text.split(/\r?\n/).filter((l) => l.trim() && !l.trim().startsWith('#'));
    if (lines.length !== 1) throw new UsageError(lines.length ? 'give one public key at a time' : 'no public key on stdin (example: keys add < ~/.ssh/id_ed25519.pub)');
    let parsed;
    try {
      parsed = parsePublicKeyLine(lines[0]!);
    } catch (err) {
      throw new UsageError(`not a public key: ${(err as Error).message}`);
    }
    const fp = fingerprint(parsed.key.blob);
    const comment = (args.comment ?? parsed.comment).replace(/[^\x20-\x7e]/g, '').slice(0, 100);
    const row = identities.addKey(user.id, { fingerprint: fp, algo: parsed.key.type, publicKey: formatPublicKey(parsed.key), comment });
    return { kind: 'message', text: `added key ${row.id}: ${fp} (${parsed.key.type}${comment ? ', ' + comment : ''})`, json: { id: row.id, fingerprint: fp, algo: parsed.key.type, comment } };
  },
});

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
  summary: 'Create a user, optionally with a public key to log in with',
  args: z.object({
    name: z.string().describe('user name: a-z, 0-9, _ and -'),
    role: role.default('member').describe(`one of ${ROLES.join(', ')} (default member)`),
    key: z.string().optional().describe('a public key line "TYPE BASE64 [COMMENT]"'),
  }),
  positionals: ['name'],
  permission: 'admin.users',
  mutating: true,
  results: ['message'],
  async run(ctx, args) {
    const s = identities;
    let parsed: ReturnType<typeof parsePublicKeyLine> | undefined;
    if (args.key) {
      try {
        parsed = parsePublicKeyLine(args.key);
      } catch (err) {
        throw new UsageError(`--key: not a public key: ${(err as Error).message}`);
      }
    }
    const user = s.transaction(() => {
      const u = s.createUser(args.name, args.role);
      if (parsed) s.addKey(u.id, { fingerprint: fingerprint(parsed.key.blob), algo: parsed.key.type, publicKey: formatPublicKey(parsed.key), comment: parsed.comment });
      return u;
    });
    return { kind: 'message', text: `created user ${user.name} (${user.role})${parsed ? ' with key ' + fingerprint(parsed.key.blob) : ''}`, json: { name: user.name, role: user.role } };
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
