import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { Conflict, NotFound, PermissionDenied, UsageError } from '../../core/errors.ts';
import { findArmoredSignature, parseSshSignature, verifySshSignatureOver } from '../../core/sshwire/sshsig.ts';
import { parsePublicKeyBlob } from '../../core/sshwire/keys.ts';
import { ROLES } from '../../core/permissions.ts';
import type { Delegation } from '../access/delegation.ts';
import type { CommandContext } from '../context.ts';
import { defineCommand } from '../registry.ts';
import type { IdentityStore } from './store.ts';
import type { AnyCommand } from '../registry.ts';
import { readStdinText } from '../stdin.ts';
import type { Result } from '../result.ts';
import { KEY_INPUT_LIMIT, parseKeyText, readKeyInput } from './stdin-key.ts';

/** The initial admin account (LABD_INITIAL_ADMIN_KEYS): its name and the fingerprints of its keys, which nobody else may register. */
export interface InitialAdmin {
  name: string;
  keys: ReadonlySet<string>;
}

/** Which roles exist now: the built-in ones and those admins created (src/ops/access). */
export interface RoleNames {
  exists(name: string): boolean;
  names(): string[];
}

/** The SSHSIG namespace of a `keys add` proof, so no signature made for anything else (git, files) counts. */
export const KEYS_ADD_NAMESPACE = 'labd-keys-add';
const CHALLENGE_TTL_MS = 10 * 60 * 1000;
const SIG_BEGIN = '-----BEGIN SSH SIGNATURE-----';
const SIG_END = '-----END SSH SIGNATURE-----';

/**
 * Account and user commands, on the identity store the composition root built. Those that change
 * another account keep a delegated `admin.users` within its holder's rights (src/ops/access/delegation.ts).
 */
export function identityCommands(identities: IdentityStore, initialAdmin: InitialAdmin, roleNames: RoleNames, delegation: Delegation): AnyCommand[] {
  /** One outstanding challenge per user, used once; kept in memory (a restart only means asking again). */
  const challenges = new Map<number, { nonce: string; expiresAt: number }>();

  /** A key in LABD_INITIAL_ADMIN_KEYS belongs to the initial admin and nobody else, whoever vouches or signs. */
  function refuseInitialAdminKey(fingerprint: string, userName: string): void {
    if (initialAdmin.keys.has(fingerprint) && userName !== initialAdmin.name)
      throw new Conflict(`key ${fingerprint} is an initial admin key (LABD_INITIAL_ADMIN_KEYS) and cannot be registered to anyone else`);
  }

  /** Whether the session proved it holds the key: it logged in with it (the key, or the certificate's own key). */
  function sessionHolds(ctx: CommandContext, fp: string): boolean {
    const cred = ctx.actor.credential;
    return (cred?.kind === 'key' && cred.fingerprint === fp) || (cred?.kind === 'cert' && cred.keyFingerprint === fp);
  }

  /** Checks a signature over the user's current challenge by the key `publicKey`; the challenge is used up whatever the outcome. */
  function checkChallengeSignature(ctx: CommandContext, userId: number, publicKey: string, signatureBlob: Buffer): void {
    const challenge = challenges.get(userId);
    challenges.delete(userId);
    if (!challenge || challenge.expiresAt <= ctx.clock.now().getTime())
      throw new PermissionDenied("no current challenge: run 'keys challenge' first (it lasts 10 minutes and is used once)");
    let valid = false;
    try {
      const key = parsePublicKeyBlob(Buffer.from(publicKey.split(' ')[1]!, 'base64'));
      const sig = parseSshSignature(signatureBlob);
      // `printf %s` signs the challenge; `echo` adds a newline: both are the challenge.
      valid = [challenge.nonce, `${challenge.nonce}\n`].some((m) => verifySshSignatureOver(sig, key, KEYS_ADD_NAMESPACE, Buffer.from(m)));
    } catch (err) {
      throw new UsageError(`signature: ${(err as Error).message}`);
    }
    if (!valid) throw new PermissionDenied(`the signature is not this key's over your challenge in namespace ${KEYS_ADD_NAMESPACE}`);
  }

  const keysChallenge = defineCommand({
    path: ['keys', 'challenge'],
    summary: 'Get a one-time challenge to sign, proving you hold a key you want to add',
    details: `sign it with: printf %s CHALLENGE | ssh-keygen -Y sign -n ${KEYS_ADD_NAMESPACE} -f ~/.ssh/KEY > key.sig\nthen: cat ~/.ssh/KEY.pub key.sig | ssh HOST keys add`,
    args: z.object({}),
    permission: 'authenticated',
    mutating: false,
    results: ['message'],
    async run(ctx) {
      const user = await currentUser(ctx);
      const nonce = `labd-${randomBytes(24).toString('base64url')}`;
      const expiresAt = ctx.clock.now().getTime() + CHALLENGE_TTL_MS;
      challenges.set(user.id, { nonce, expiresAt });
      const text = [
        nonce,
        '',
        'Within 10 minutes, sign it with the key you want to add and send the public key and the signature:',
        `  printf %s ${nonce} | ssh-keygen -Y sign -n ${KEYS_ADD_NAMESPACE} -f ~/.ssh/id_ed25519 > key.sig`,
        '  cat ~/.ssh/id_ed25519.pub key.sig | ssh HOST keys add',
      ].join('\n');
      return { kind: 'message', text, json: { challenge: nonce, namespace: KEYS_ADD_NAMESPACE, expiresAt: new Date(expiresAt).toISOString() } };
    },
  });

  async function currentUser(ctx: CommandContext) {
    if (ctx.actor.userId === null) throw new UsageError('this command needs a labd user');
    const user = await identities.userById(ctx.actor.userId);
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
      const permissions = ctx.permissionsHeld();
      const cred = a.credential;
      const json = {
        user: a.name,
        role: a.role,
        via: a.via,
        permissions,
        credential: cred ?? null,
        remoteAddress: a.remoteAddress ?? null,
      };
      const how = !cred
        ? '-'
        : cred.kind === 'cert'
          ? `certificate "${cred.keyId}" (serial ${cred.serial}, principal ${cred.principal})`
          : cred.kind === 'key'
            ? `key ${cred.fingerprint}`
            : cred.kind === 'matrix'
              ? `Matrix ${cred.mxid}`
              : 'system';
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
      const user = await currentUser(ctx);
      const now = ctx.clock.now().getTime();
      const keys = await identities.keysOf(user.id);
      const rows = keys.map((k) => ({
        id: k.id,
        fingerprint: k.fingerprint,
        algo: k.algo,
        comment: k.comment,
        source: k.source,
        added: k.createdAt.toISOString(),
        lastUsed: k.lastUsedAt?.toISOString() ?? null,
        // Keys an OIDC login linked: until when, and the ID token claims the link was made on.
        expiresAt: k.expiresAt?.toISOString() ?? null,
        expired: k.expiresAt ? k.expiresAt.getTime() <= now : false,
        claims: k.claims ?? null,
        linkedBy: k.claims
          ? `${k.claims.preferredUsername ?? k.claims.email ?? k.claims.sub} (sub ${k.claims.sub}${k.claims.groups.length ? `; groups ${k.claims.groups.join(',')}` : ''})`
          : '',
        until: k.expiresAt ? `${k.expiresAt.toISOString()}${k.expiresAt.getTime() <= now ? ' (expired)' : ''}` : '',
      }));
      const linked = keys.some((k) => k.expiresAt);
      return {
        kind: 'table',
        columns: [
          { key: 'id', label: 'ID' },
          { key: 'fingerprint', label: 'FINGERPRINT' },
          { key: 'algo', label: 'TYPE' },
          { key: 'comment', label: 'COMMENT' },
          { key: 'lastUsed', label: 'LAST USED' },
          ...(linked
            ? [
                { key: 'until', label: 'LINKED UNTIL' },
                { key: 'linkedBy', label: 'LINKED BY (OIDC)' },
              ]
            : []),
        ],
        rows,
        empty: 'no keys registered (add one with: keys add < key.pub)',
      };
    },
  });

  const keysAdd = defineCommand({
    path: ['keys', 'add'],
    summary: 'Register a public key (read from stdin) to log in with, with proof that you hold it',
    details: [
      "proof: the key this session logged in with (e.g. your certificate's key): ssh HOST keys add < ~/.ssh/id_ed25519.pub",
      "or a signature over 'keys challenge' after the key: cat ~/.ssh/id_ed25519.pub key.sig | ssh HOST keys add",
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
    async authorize(ctx, args) {
      if (args.user === undefined) return;
      if (!ctx.can('admin.users')) throw new PermissionDenied(`permission denied: 'keys add --user' needs admin.users (you are ${ctx.actor.role})`);
      const user = await identities.requireUser(args.user);
      // A key is the account: the initial admin is reached only by its own keys (design §4).
      if (user.id !== ctx.actor.userId) delegation.protectInitialAdmin(user, 'given a key by someone else');
      await delegation.requireAccountWithin(ctx, user, `add a key to ${user.name}`);
    },
    async run(ctx, args) {
      if (args.user !== undefined) return addKeyForUser(ctx, args.user, args.comment);
      const user = await currentUser(ctx);
      const input = await readStdinText(ctx, KEY_INPUT_LIMIT * 2);
      let signatureBlob: Buffer | undefined;
      try {
        signatureBlob = findArmoredSignature(input);
      } catch (err) {
        throw new UsageError(`signature: ${(err as Error).message}`);
      }
      const text = signatureBlob ? input.slice(0, input.indexOf(SIG_BEGIN)) + input.slice(input.indexOf(SIG_END) + SIG_END.length) : input;
      const key = parseKeyText(text, 'stdin');
      if (!key) throw new UsageError('no public key on stdin (example: keys add < ~/.ssh/id_ed25519.pub)');
      refuseInitialAdminKey(key.fingerprint, user.name);
      if (signatureBlob) checkChallengeSignature(ctx, user.id, key.publicKey, signatureBlob);
      else if (!sessionHolds(ctx, key.fingerprint))
        throw new PermissionDenied(
          "prove you hold this key: log in with it (or its certificate), or sign a 'keys challenge' and send the signature after the key",
        );
      const comment = (args.comment ?? key.comment).replace(/[^\x20-\x7e]/g, '').slice(0, 100);
      const row = await identities.addKey(user.id, { ...key, comment });
      return {
        kind: 'message',
        text: `added key ${row.id}: ${key.fingerprint} (${key.algo}${comment ? ', ' + comment : ''})`,
        json: { id: row.id, fingerprint: key.fingerprint, algo: key.algo, comment },
      };
    },
  });

  /**
   * An admin adds a key to someone else's account. There is no proof of possession here: the admin
   * vouches for the key (it came to them out of band), so it needs admin.users, and the audit row
   * (command `keys add`, args.user) records who vouched for whose key.
   */
  async function addKeyForUser(ctx: CommandContext, name: string, commentArg: string | undefined): Promise<Result> {
    const s = identities;
    const user = await s.requireUser(name);
    const key = parseKeyText(await readStdinText(ctx, KEY_INPUT_LIMIT), 'stdin');
    if (!key) throw new UsageError(`no public key on stdin (example: keys add --user ${user.name} < key.pub)`);
    refuseInitialAdminKey(key.fingerprint, user.name);
    const comment = (commentArg ?? key.comment).replace(/[^\x20-\x7e]/g, '').slice(0, 100);
    const row = await s.addKey(user.id, { ...key, comment });
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
      const user = await currentUser(ctx);
      const removed = await identities.removeKey(user.id, args.key);
      return { kind: 'message', text: `removed key ${removed.id}: ${removed.fingerprint}`, json: { id: removed.id, fingerprint: removed.fingerprint } };
    },
  });

  const role = z.string().min(1);
  const requireRole = (name: string) => {
    if (!roleNames.exists(name)) throw new NotFound(`no role '${name.slice(0, 40)}' (roles: ${roleNames.names().join(', ')})`);
    return name;
  };

  const userLs = defineCommand({
    path: ['user', 'ls'],
    summary: 'List users',
    args: z.object({}),
    permission: 'admin.users',
    mutating: false,
    results: ['table'],
    async run(ctx) {
      const now = ctx.clock.now();
      const rows = [];
      for (const u of await identities.listUsers()) {
        // A key linked by an OIDC login may act as more than the stored role (its IdP groups): said here too.
        const { effectiveRole } = await delegation.rightsOf(u, now);
        rows.push({
          name: u.name,
          role: u.role,
          effectiveRole,
          acting: effectiveRole === u.role ? '' : `${effectiveRole} (linked key)`,
          keys: u.keys,
          created: u.createdAt.toISOString(),
          disabled: u.disabledAt ? 'disabled' : '',
        });
      }
      return {
        kind: 'table',
        columns: [
          { key: 'name', label: 'NAME' },
          { key: 'role', label: 'ROLE' },
          { key: 'acting', label: 'ACTING AS', priority: 1 },
          { key: 'keys', label: 'KEYS' },
          { key: 'created', label: 'CREATED' },
          { key: 'disabled', label: 'STATE', priority: 1 },
        ],
        rows,
      };
    },
  });

  const userAdd = defineCommand({
    path: ['user', 'add'],
    summary: 'Create a user, with the public key they log in with on stdin',
    details: 'example: ssh HOST user add carol --role operator < carol.pub\nWithout a key on stdin (< /dev/null) the user can log in only with a certificate.',
    args: z.object({
      name: z.string().describe('user name: a-z, 0-9, _ and -'),
      role: role.default('member').describe(`one of ${ROLES.join(', ')} or a custom role (default member)`),
      key: z.string().optional().describe('a public key line as ONE word (quote it twice over ssh); stdin is simpler'),
    }),
    positionals: ['name'],
    permission: 'admin.users',
    mutating: true,
    results: ['message'],
    authorize(ctx, args) {
      delegation.requireRoleWithin(ctx, requireRole(args.role), `create a user with role ${args.role}`);
    },
    async run(ctx, args) {
      const s = identities;
      const fromFlag = args.key !== undefined ? parseKeyText(args.key, '--key') : undefined;
      if (args.key !== undefined && !fromFlag) throw new UsageError('--key: empty');
      const fromStdin = parseKeyText(await readKeyInput(ctx), 'stdin');
      if (fromFlag && fromStdin) throw new UsageError('give the key on stdin or with --key, not both');
      const key = fromFlag ?? fromStdin;
      requireRole(args.role);
      if (key) refuseInitialAdminKey(key.fingerprint, args.name);
      const user = await s.createUser(args.name, args.role, key ? { key } : {});
      return {
        kind: 'message',
        text: `created user ${user.name} (${user.role})${key ? ' with key ' + key.fingerprint : ', no key (certificate logins only; add one with: keys add --user ' + user.name + ' < key.pub)'}`,
        json: { name: user.name, role: user.role, key: key?.fingerprint ?? null },
      };
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
    async authorize(ctx, args) {
      if (args.name === ctx.actor.name) throw new UsageError('you cannot remove yourself');
      const user = await identities.requireUser(args.name);
      delegation.protectInitialAdmin(user, 'removed');
      await delegation.requireAccountWithin(ctx, user, `remove ${user.name}`);
    },
    async run(ctx, args) {
      if (args.name === ctx.actor.name) throw new UsageError('you cannot remove yourself');
      await identities.removeUser(args.name);
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
    async authorize(ctx, args) {
      const user = await identities.requireUser(args.name);
      const role = requireRole(args.role);
      if (role !== 'admin') delegation.protectInitialAdmin(user, `made ${role}`);
      await delegation.requireAccountWithin(ctx, user, `change the role of ${user.name}`, role);
    },
    async run(ctx, args) {
      const user = await identities.setRole(args.name, requireRole(args.role));
      return { kind: 'message', text: `${user.name} is now ${user.role}`, json: { name: user.name, role: user.role } };
    },
  });

  return [whoami, keysLs, keysChallenge, keysAdd, keysRm, userLs, userAdd, userRm, userRole];
}
