import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { Conflict, NotFound, PermissionDenied, UsageError } from '../../core/errors.ts';
import { ROLES } from '../../core/permissions.ts';
import { fingerprint, formatPublicKey, parsePublicKeyLine } from '../../core/sshwire/keys.ts';
import type { CommandContext } from '../context.ts';
import { defineCommand } from '../registry.ts';
import { findArmoredSignature, parseSshSignature, verifySshSignatureOver } from '../../core/sshwire/sshsig.ts';
import { initialAdminFingerprints } from './login.ts';
import { IdentityStore } from './store.ts';
import { readStdinText } from '../stdin.ts';

const store = (ctx: CommandContext) => new IdentityStore(ctx.db);

function currentUser(ctx: CommandContext) {
  if (ctx.actor.userId === null) throw new UsageError('this command needs a labd user');
  const user = store(ctx).userById(ctx.actor.userId);
  if (!user) throw new NotFound('your user no longer exists');
  return user;
}

export const whoami = defineCommand({
  path: ['whoami'],
  summary: 'Show who you are logged in as, your role and how you came in',
  args: z.object({}),
  permission: 'authenticated',
  mutating: false,
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

export const keysLs = defineCommand({
  path: ['keys', 'ls'],
  summary: 'List the public keys registered to you',
  args: z.object({}),
  permission: 'authenticated',
  mutating: false,
  async run(ctx) {
    const user = currentUser(ctx);
    const rows = store(ctx).keysOf(user.id).map((k) => ({ id: k.id, fingerprint: k.fingerprint, algo: k.algo, comment: k.comment, source: k.source, added: k.createdAt.toISOString(), lastUsed: k.lastUsedAt?.toISOString() ?? null }));
    return { kind: 'table', columns: [{ key: 'id', label: 'ID' }, { key: 'fingerprint', label: 'FINGERPRINT' }, { key: 'algo', label: 'TYPE' }, { key: 'comment', label: 'COMMENT' }, { key: 'lastUsed', label: 'LAST USED' }], rows, empty: "no keys registered (add one with: keys add < key.pub)" };
  },
});

/** The SSHSIG namespace of a `keys add` proof, so no signature made for anything else (git, files) counts. */
export const KEYS_ADD_NAMESPACE = 'labd-keys-add';
const CHALLENGE_TTL_MS = 10 * 60 * 1000;

/** One outstanding challenge per user, used once; kept in memory (a restart only means asking again). */
const challenges = new Map<number, { nonce: string; expiresAt: number }>();

export const keysChallenge = defineCommand({
  path: ['keys', 'challenge'],
  summary: 'Get a one-time challenge to sign, proving you hold a key you want to add',
  details: `sign it with: printf %s CHALLENGE | ssh-keygen -Y sign -n ${KEYS_ADD_NAMESPACE} -f ~/.ssh/KEY > key.sig\nthen: cat ~/.ssh/KEY.pub key.sig | ssh HOST keys add`,
  args: z.object({}),
  permission: 'authenticated',
  mutating: false,
  async run(ctx) {
    const user = currentUser(ctx);
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

/** Whether the session proved it holds the key: it logged in with it (the key, or the certificate's own key). */
function sessionHolds(ctx: CommandContext, fp: string): boolean {
  const cred = ctx.actor.credential;
  return (cred?.kind === 'key' && cred.fingerprint === fp) || (cred?.kind === 'cert' && cred.keyFingerprint === fp);
}

export const keysAdd = defineCommand({
  path: ['keys', 'add'],
  summary: 'Register a public key (read from stdin) to log in with, with proof that you hold it',
  details: [
    'Proof: the key this session logged in with (e.g. your certificate\'s key):',
    '  ssh HOST keys add < ~/.ssh/id_ed25519.pub',
    "or a signature over 'keys challenge' (see its help) after the key on stdin:",
    '  cat ~/.ssh/id_ed25519.pub key.sig | ssh HOST keys add',
  ].join('\n'),
  args: z.object({ comment: z.string().max(100).optional().describe('a name for the key (default: the key file comment)') }),
  permission: 'authenticated',
  mutating: true,
  needsIO: true,
  async run(ctx, args) {
    const user = currentUser(ctx);
    const input = (await readStdinText(ctx, 32 * 1024)).trim();
    let signatureBlob: Buffer | undefined;
    try {
      signatureBlob = findArmoredSignature(input);
    } catch (err) {
      throw new UsageError(`signature: ${(err as Error).message}`);
    }
    const text = signatureBlob ? input.slice(0, input.indexOf('-----BEGIN SSH SIGNATURE-----')) + input.slice(input.indexOf('-----END SSH SIGNATURE-----') + '-----END SSH SIGNATURE-----'.length) : input;
    const lines = text.split(/\r?\n/).filter((l) => l.trim() && !l.trim().startsWith('#'));
    if (lines.length !== 1) throw new UsageError(lines.length ? 'give one public key at a time' : 'no public key on stdin (example: keys add < ~/.ssh/id_ed25519.pub)');
    let parsed;
    try {
      parsed = parsePublicKeyLine(lines[0]!);
    } catch (err) {
      throw new UsageError(`not a public key: ${(err as Error).message}`);
    }
    const fp = fingerprint(parsed.key.blob);
    if (initialAdminFingerprints(ctx.config).has(fp) && user.name !== ctx.config.auth.initialAdminName) throw new Conflict(`key ${fp} is an initial admin key (LABD_INITIAL_ADMIN_KEYS) and cannot be registered to anyone else`);
    if (signatureBlob) {
      const challenge = challenges.get(user.id);
      // Used once, whatever the outcome: a wrong signature costs a new challenge.
      challenges.delete(user.id);
      if (!challenge || challenge.expiresAt <= ctx.clock.now().getTime()) throw new PermissionDenied("no current challenge: run 'keys challenge' first (it lasts 10 minutes and is used once)");
      let valid = false;
      try {
        const sig = parseSshSignature(signatureBlob);
        // `printf %s` signs the challenge; `echo` adds a newline: both are the challenge.
        valid = [challenge.nonce, `${challenge.nonce}\n`].some((m) => verifySshSignatureOver(sig, parsed.key, KEYS_ADD_NAMESPACE, Buffer.from(m)));
      } catch (err) {
        throw new UsageError(`signature: ${(err as Error).message}`);
      }
      if (!valid) throw new PermissionDenied(`the signature is not this key's over your challenge in namespace ${KEYS_ADD_NAMESPACE}`);
    } else if (!sessionHolds(ctx, fp)) {
      throw new PermissionDenied("prove you hold this key: log in with it (or its certificate), or sign a 'keys challenge' and send the signature after the key");
    }
    const comment = (args.comment ?? parsed.comment).replace(/[^\x20-\x7e]/g, '').slice(0, 100);
    const row = store(ctx).addKey(user.id, { fingerprint: fp, algo: parsed.key.type, publicKey: formatPublicKey(parsed.key), comment });
    return { kind: 'message', text: `added key ${row.id}: ${fp} (${parsed.key.type}${comment ? ', ' + comment : ''})`, json: { id: row.id, fingerprint: fp, algo: parsed.key.type, comment } };
  },
});

export const keysRm = defineCommand({
  path: ['keys', 'rm'],
  summary: 'Remove one of your keys, by ID or fingerprint',
  args: z.object({ key: z.string().min(1).describe('the ID or SHA256 fingerprint shown by keys ls') }),
  positionals: ['key'],
  permission: 'authenticated',
  mutating: true,
  destructive: true,
  async run(ctx, args) {
    const user = currentUser(ctx);
    const removed = store(ctx).removeKey(user.id, args.key);
    return { kind: 'message', text: `removed key ${removed.id}: ${removed.fingerprint}`, json: { id: removed.id, fingerprint: removed.fingerprint } };
  },
});

const role = z.enum(ROLES);

export const userLs = defineCommand({
  path: ['user', 'ls'],
  summary: 'List users',
  args: z.object({}),
  permission: 'admin.users',
  mutating: false,
  async run(ctx) {
    const rows = store(ctx).listUsers().map((u) => ({ name: u.name, role: u.role, keys: u.keys, created: u.createdAt.toISOString() }));
    return { kind: 'table', columns: [{ key: 'name', label: 'NAME' }, { key: 'role', label: 'ROLE' }, { key: 'keys', label: 'KEYS' }, { key: 'created', label: 'CREATED' }], rows };
  },
});

export const userAdd = defineCommand({
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
  async run(ctx, args) {
    const s = store(ctx);
    let parsed: ReturnType<typeof parsePublicKeyLine> | undefined;
    if (args.key) {
      try {
        parsed = parsePublicKeyLine(args.key);
      } catch (err) {
        throw new UsageError(`--key: not a public key: ${(err as Error).message}`);
      }
    }
    if (parsed && initialAdminFingerprints(ctx.config).has(fingerprint(parsed.key.blob))) throw new Conflict(`key ${fingerprint(parsed.key.blob)} is an initial admin key (LABD_INITIAL_ADMIN_KEYS) and cannot be registered to anyone else`);
    const user = s.transaction(() => {
      const u = s.createUser(args.name, args.role);
      if (parsed) s.addKey(u.id, { fingerprint: fingerprint(parsed.key.blob), algo: parsed.key.type, publicKey: formatPublicKey(parsed.key), comment: parsed.comment });
      return u;
    });
    return { kind: 'message', text: `created user ${user.name} (${user.role})${parsed ? ' with key ' + fingerprint(parsed.key.blob) : ''}`, json: { name: user.name, role: user.role } };
  },
});

export const userRm = defineCommand({
  path: ['user', 'rm'],
  summary: 'Delete a user with their keys and linked identities',
  args: z.object({ name: z.string().min(1) }),
  positionals: ['name'],
  permission: 'admin.users',
  mutating: true,
  destructive: true,
  async run(ctx, args) {
    if (args.name === ctx.actor.name) throw new UsageError('you cannot remove yourself');
    store(ctx).removeUser(args.name);
    return { kind: 'message', text: `removed user ${args.name}`, json: { name: args.name, removed: true } };
  },
});

export const userRole = defineCommand({
  path: ['user', 'role'],
  summary: "Change a user's role",
  args: z.object({ name: z.string().min(1), role }),
  positionals: ['name', 'role'],
  permission: 'admin.users',
  mutating: true,
  async run(ctx, args) {
    const user = store(ctx).setRole(args.name, args.role);
    return { kind: 'message', text: `${user.name} is now ${user.role}`, json: { name: user.name, role: user.role } };
  },
});

export const identityCommands = [whoami, keysLs, keysChallenge, keysAdd, keysRm, userLs, userAdd, userRm, userRole];
