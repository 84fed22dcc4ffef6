/**
 * Invites and sign-up by key (issue #14): `invite create` prints a code once and keeps only its
 * SHA-256; `join CODE --name NAME` from a key that has no account yet (it proved possession when it
 * logged in) creates the account with that key, under the sign-up policy (`auth.signup`); under
 * `open`, `join` needs no code. Wrong codes are counted per key and per address (in the database,
 * so a restart does not reset them), and past a few the key (or address) may not try again for a while.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { Conflict, NotFound, PermissionDenied, UsageError } from '../../core/errors.ts';
import { parseDuration } from '../../core/duration.ts';
import type { BuiltinRole } from '../../core/permissions.ts';
import { signupAllows, signupRefusal, type SignupPolicy } from '../../core/signup.ts';
import { parseKeyText } from '../identity/stdin-key.ts';
import { checkUserName, isReservedUserName, reservedNameText, USER_NAME, type IdentityStore } from '../identity/store.ts';
import { defineCommand, type AnyCommand } from '../registry.ts';
import type { Transactions } from '../storage.ts';
import type { AccessControl } from './control.ts';
import type { Delegation } from './delegation.ts';
import type { AccessStore, InviteRow, InviteUseRow } from './store.ts';
import type { WrongCodeLog } from './wrong-codes.ts';

export interface SignupConfig {
  policy: SignupPolicy;
  defaultRole: BuiltinRole;
  /** The initial admin's name: never taken by a sign-up, even before the initial admin exists. */
  initialAdminName: string;
}

/** Wrong codes a key may send, and an address, within WRONG_WINDOW_MS. */
export const WRONG_CODES_PER_KEY = 5;
export const WRONG_CODES_PER_ADDRESS = 20;
const WRONG_WINDOW_MS = 15 * 60 * 1000;
const CODE_PREFIX = 'inv-';

export function hashCode(code: string): string {
  return createHash('sha256').update(code.trim()).digest('hex');
}

function inviteState(row: InviteRow, now: Date): 'active' | 'expired' | 'used' {
  if (row.usesLeft <= 0) return 'used';
  if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

export function inviteCommands(deps: {
  store: AccessStore;
  control: AccessControl;
  identities: IdentityStore;
  signup: SignupConfig;
  wrongCodes: WrongCodeLog;
  delegation: Delegation;
  /** `join`: the invite's use (this module's store) and the account with its key (the identity store), all or nothing. */
  transactions: Transactions;
}): AnyCommand[] {
  const { store, control, identities, signup, wrongCodes, delegation, transactions } = deps;

  const inviteCreate = defineCommand({
    path: ['invite', 'create'],
    summary: 'Create an invite code: whoever has it runs `ssh HOST join CODE` with their key',
    details: 'The code is shown once and stored only as a hash. Single-use and valid for 7 days unless --uses/--expires say otherwise.',
    args: z.object({
      role: z.string().optional().describe(`the role the new account gets (default ${signup.defaultRole})`),
      expires: z.string().default('7d').describe('how long the code is valid: 1h, 7d, ... or never'),
      uses: z.coerce.number().int().min(1).max(1000).default(1).describe('how many accounts the code may create (default 1)'),
      note: z.array(z.string()).default([]).describe('who the invite is for (the trailing words)'),
    }),
    positionals: ['note'],
    permission: 'admin.users',
    mutating: true,
    results: ['message'],
    surfaces: ['ssh', 'tui'],
    surfacesWhy: "the code would stay in the chat room's history",
    authorize(ctx, args) {
      const role = args.role ?? signup.defaultRole;
      if (!control.roleExists(role)) throw new NotFound(`no role '${role.slice(0, 40)}' (roles: ${control.roleNames().join(', ')})`);
      delegation.requireRoleWithin(ctx, role, `create an invite for role ${role}`);
    },
    async run(ctx, args) {
      const role = args.role ?? signup.defaultRole;
      if (!control.roleExists(role)) throw new NotFound(`no role '${role.slice(0, 40)}' (roles: ${control.roleNames().join(', ')})`);
      const now = ctx.clock.now();
      const expiresAt = args.expires === 'never' ? null : new Date(now.getTime() + parseDuration(args.expires, '--expires') * 1000);
      const code = CODE_PREFIX + randomBytes(18).toString('base64url');
      const note = args.note
        .join(' ')
        .replace(/[^\x20-\x7e]/g, '')
        .slice(0, 200);
      const row = await store.createInvite({ codeHash: hashCode(code), role, maxUses: args.uses, expiresAt, createdBy: ctx.actor.userId, note });
      const lines = [
        code,
        '',
        `invite ${row.id}: role ${role}, ${args.uses === 1 ? 'single use' : `${args.uses} uses`}, ${expiresAt ? `valid until ${expiresAt.toISOString()}` : 'no expiry'}`,
        'Send the code to the person you invite; with their own key they run:',
        `  ssh HOST join ${code}`,
        '(the account is named after the SSH user name they log in with; --name NAME picks another)',
        'It is shown only now (labd keeps a hash of it).',
      ];
      if (!signupAllows(signup.policy, 'invite'))
        lines.push(`warning: ${signupRefusal(signup.policy, 'invite')} (auth.signup = ${signup.policy}): nobody can use it now`);
      return {
        kind: 'message',
        text: lines.join('\n'),
        json: { id: row.id, code, role, uses: args.uses, expiresAt: expiresAt?.toISOString() ?? null, note },
      };
    },
  });

  const inviteLs = defineCommand({
    path: ['invite', 'ls'],
    summary: 'List invites (the codes themselves are not kept)',
    args: z.object({}),
    permission: 'admin.users',
    mutating: false,
    results: ['table'],
    async run(ctx) {
      const now = ctx.clock.now();
      const names = new Map((await identities.listUsers()).map((u) => [u.id, u.name]));
      const uses = new Map<number, InviteUseRow[]>();
      for (const use of await store.inviteUses()) uses.set(use.inviteId, [...(uses.get(use.inviteId) ?? []), use]);
      const rows = (await store.invites()).map((r) => ({
        id: r.id,
        role: r.role,
        state: inviteState(r, now),
        used: `${r.maxUses - r.usesLeft}/${r.maxUses}`,
        expires: r.expiresAt?.toISOString() ?? 'never',
        createdBy: r.createdBy !== null ? (names.get(r.createdBy) ?? '-') : '-',
        note: r.note,
        created: r.createdAt.toISOString(),
        lastUsed: r.lastUsedAt?.toISOString() ?? null,
        // The name the account joined with (it may be renamed or removed since), its key and when.
        usedBy: (uses.get(r.id) ?? []).map((u) => ({ user: u.userName, fingerprint: u.fingerprint || null, at: u.at.toISOString() })),
      }));
      return {
        kind: 'table',
        columns: [
          { key: 'id', label: 'ID', align: 'right', priority: 3 },
          { key: 'role', label: 'ROLE', priority: 2 },
          { key: 'state', label: 'STATE', priority: 2 },
          { key: 'used', label: 'USED', priority: 1 },
          { key: 'expires', label: 'EXPIRES', priority: 1 },
          { key: 'createdBy', label: 'BY' },
          { key: 'usedByText', label: 'USED BY' },
          { key: 'note', label: 'NOTE' },
        ],
        rows: rows.map((r) => ({ ...r, usedByText: r.usedBy.map((u) => `${u.user} ${u.at}`).join(', ') || '-' })),
        json: rows,
        empty: 'no invites (invite create makes one)',
      };
    },
  });

  const inviteRm = defineCommand({
    path: ['invite', 'rm'],
    summary: 'Withdraw an invite (its code stops working)',
    args: z.object({ id: z.coerce.number().int().min(1).describe('the ID shown by invite ls') }),
    positionals: ['id'],
    permission: 'admin.users',
    mutating: true,
    destructive: true,
    results: ['message'],
    async authorize(ctx, args) {
      const invite = (await store.invites()).find((r) => r.id === args.id);
      if (invite) delegation.requireRoleWithin(ctx, invite.role, `withdraw invite ${args.id}`);
    },
    async run(_ctx, args) {
      if (!(await store.removeInvite(args.id))) throw new NotFound(`no invite ${args.id} (see invite ls)`);
      return { kind: 'message', text: `removed invite ${args.id}`, json: { id: args.id, removed: true } };
    },
  });

  /** The invite a code stands for, or why not; counts wrong codes. */
  async function inviteFor(code: string, fingerprint: string, address: string | undefined, now: Date): Promise<InviteRow> {
    const limits = [
      { key: `key:${fingerprint}`, limit: WRONG_CODES_PER_KEY },
      ...(address ? [{ key: `addr:${address}`, limit: WRONG_CODES_PER_ADDRESS }] : []),
    ];
    const since = new Date(now.getTime() - WRONG_WINDOW_MS);
    const counts = await wrongCodes.counts(
      limits.map((l) => l.key),
      since,
    );
    if (limits.some((l) => (counts.get(l.key) ?? 0) >= l.limit))
      throw new PermissionDenied('too many wrong invite codes from this key or address: wait a quarter of an hour, then try again');
    const hash = hashCode(code);
    const row = await store.inviteByHash(hash);
    // The lookup is by hash (an index on a SHA-256 the caller cannot steer); compare again in constant time all the same.
    if (!row || !timingSafeEqual(Buffer.from(row.codeHash, 'hex'), Buffer.from(hash, 'hex'))) {
      await wrongCodes.note(
        limits.map((l) => l.key),
        now,
        since,
      );
      throw new PermissionDenied('this invite code is not valid: check it, or ask for a new one');
    }
    const state = inviteState(row, now);
    if (state === 'used') throw new PermissionDenied('this invite was already used: ask for a new one');
    if (state === 'expired') throw new PermissionDenied(`this invite expired at ${row.expiresAt!.toISOString()}: ask for a new one`);
    return row;
  }

  const join = defineCommand({
    path: ['join'],
    summary: 'Sign up with the key you logged in with: join CODE (an invite), or join where sign-up is open',
    details: [
      'The account gets the key this session logged in with, and the SSH user name you logged in with',
      '(ssh NAME@HOST join CODE) unless --name NAME says otherwise. Names are exact and unique: pick another when one is taken.',
    ].join('\n'),
    args: z.object({
      code: z.string().max(200).optional().describe('the invite code you were given'),
      name: z.string().optional().describe('your user name (default: your SSH user name): 1-32 of a-z, 0-9, _ and -, starting with a letter'),
    }),
    positionals: ['code'],
    permission: 'authenticated',
    newcomer: true,
    surfaces: ['ssh'],
    surfacesWhy: 'it signs up the SSH key you log in with',
    mutating: true,
    // A wrong code is remembered although the command fails: the sign-up itself is one transaction of its own.
    atomic: false,
    secrets: ['code'],
    results: ['message'],
    async run(ctx, args) {
      const cred = ctx.actor.credential;
      if (cred?.kind !== 'newcomer') throw new Conflict(`you already have an account (${ctx.actor.name}); to add a key to it: keys add < key.pub`);
      const source = args.code !== undefined ? 'invite' : 'key';
      if (!signupAllows(signup.policy, source))
        throw new PermissionDenied(
          source === 'key' && signupAllows(signup.policy, 'invite') ? `${signupRefusal('invite', 'invite')}` : signupRefusal(signup.policy, source),
        );
      // Without --name: the SSH user name the client logged in with (ssh alice@HOST), when it makes a valid labd name.
      const fromLogin = args.name === undefined;
      const wanted = args.name ?? cred.loginName;
      if (wanted === undefined || (fromLogin && !USER_NAME.test(wanted)))
        throw new UsageError(
          `give the user name you want: join CODE --name NAME${
            wanted !== undefined
              ? ` (your SSH user name '${wanted.slice(0, 40)}' is not a valid labd user name: 1-32 of a-z, 0-9, _ and -, starting with a letter)`
              : ''
          }`,
        );
      const name = checkUserName(wanted);
      const taken = fromLogin
        ? `the name '${name}' (your SSH user name) is taken: choose one with  join CODE --name NAME`
        : `the name '${name}' is taken: choose another with --name`;
      const now = ctx.clock.now();
      const invite = args.code !== undefined ? await inviteFor(args.code, cred.fingerprint, ctx.actor.remoteAddress, now) : undefined;
      if (name === signup.initialAdminName) throw new Conflict(taken);
      const key = parseKeyText(cred.publicKey, 'key');
      if (!key || key.fingerprint !== cred.fingerprint) throw new Error('the session key does not match its fingerprint');
      const role = invite?.role ?? signup.defaultRole;
      // `role rm` refuses a role open invites give; should one be gone all the same (an invite made before that rule), it is not handed out.
      if (!control.roleExists(role)) throw new Conflict(`this invite gives role '${role}', which no longer exists: ask for a new invite`);
      if (await identities.userByName(name)) throw new Conflict(taken);
      if (await identities.keyByFingerprint(key.fingerprint)) throw new Conflict('this key already belongs to an account');
      // After the taken checks: the initial admin's name is taken (it exists), the rest of the reserved names are refused as such.
      if (isReservedUserName(name))
        throw new UsageError(fromLogin ? `${reservedNameText(name)} with  join CODE --name NAME (it is your SSH user name)` : reservedNameText(name));
      // One unit of work over both stores: the invite's use, the account and its key, and who used it; or nothing.
      const user = await transactions.write(async () => {
        if (invite) await store.useInvite(invite.id, now);
        const made = await identities.createUser(name, role, { key: { ...key, comment: 'join' } });
        if (invite) await store.recordInviteUse({ inviteId: invite.id, userId: made.id, userName: made.name, fingerprint: key.fingerprint, at: now });
        return made;
      });
      ctx.log.info({ user: user.name, role, fingerprint: key.fingerprint, invite: invite?.id ?? null, policy: signup.policy }, 'user signed up');
      // The actor of a join is the key's newcomer; the audit row says which account it became.
      ctx.auditDetail({ account: user.name, role: user.role, fingerprint: key.fingerprint, invite: invite?.id ?? null });
      return {
        kind: 'message',
        text: `welcome, ${user.name} (${user.role}): this key now logs you in. Try: ssh HOST help`,
        json: { name: user.name, role: user.role, fingerprint: key.fingerprint, invite: invite?.id ?? null },
      };
    },
  });

  return [inviteCreate, inviteLs, inviteRm, join];
}
