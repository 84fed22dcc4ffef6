/**
 * Sign-up policies and invites (issue #14) with the real OpenSSH client: which keys and certificates
 * may create an account under each `auth.signup`, `join CODE --name NAME` from a key that has no
 * account yet, and the attacks on invites: wrong, reused and expired codes, guessing past the limit,
 * codes kept only as hashes. Every change is checked in the audit log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { certFor, logMark, logSince } from './support/auth-lab.ts';
import { KeyLab, LabdProcess, run } from './support/labd.ts';
import { allSettled, until } from './support/wait.ts';

interface AuditJson {
  actor: string;
  command: string;
  args: Record<string, unknown>;
  outcome: string;
  credential: string | null;
}

const lab = new KeyLab();
const ca = lab.key('ca');
const admin = lab.key('admin');
const labds: LabdProcess[] = [];

async function start(signup: string): Promise<LabdProcess> {
  const labd = await LabdProcess.start({ caKeys: [`${ca}.pub`], adminKeys: [lab.publicKey(admin)], env: { LABD_SIGNUP: signup } });
  labds.push(labd);
  return labd;
}

function audit(labd: LabdProcess, command: string): AuditJson[] {
  const r = labd.ssh(admin, ['audit', '--json', '--limit', '1000']);
  assert.equal(r.status, 0, r.stderr);
  // Newest first in `audit`; oldest first here. ARGS is the JSON text of the arguments.
  return (JSON.parse(r.stdout) as (Omit<AuditJson, 'args'> & { args: string })[])
    .filter((row) => row.command === command)
    .map((row) => ({ ...row, args: JSON.parse(row.args) as Record<string, unknown> }))
    .reverse();
}

function createInvite(labd: LabdProcess, extra: string[] = []): { id: number; code: string; expiresAt: string | null } {
  const r = labd.ssh(admin, ['invite', 'create', ...extra, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { id: number; code: string; expiresAt: string | null };
}

/** One labd per policy (and one for the invite tests), each its own data dir, booted side by side. */
const booted: Partial<Record<'closed' | 'invite' | 'sso' | 'open' | 'invites', LabdProcess>> = {};
before(async () => {
  await allSettled((['closed', 'invite', 'sso', 'open', 'invites'] as const).map((k) => start(k === 'invites' ? 'invite' : k).then((l) => (booted[k] = l))));
});

after(async () => {
  await Promise.all(labds.map((labd) => labd.stop()));
  lab.cleanup();
});

describe('sign-up policies (auth.signup) with the real ssh client', () => {
  test('closed: an unknown key does not even log in, an unknown certificate principal is refused, invites create nobody', async () => {
    const labd = booted.closed!;
    const stranger = lab.key('closed-stranger');
    const r = labd.ssh(stranger, ['join', '--name', 'stranger']);
    assert.equal(r.status, 255, r.stderr);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
    const mark = logMark(labd);
    const k = certFor(lab, ca, { principals: ['certie'] });
    const c = labd.ssh(k.key, ['whoami'], { cert: k.cert });
    assert.equal(c.status, 255, c.stderr);
    await logSince(labd, mark, /principal 'certie' is not a user: sign-up is closed/);
    // An admin can still make an invite, and is told nobody can use it now.
    const inv = labd.ssh(admin, ['invite', 'create']);
    assert.equal(inv.status, 0, inv.stderr);
    assert.match(inv.stdout, /warning: sign-up is closed/);
    // Admins still add users.
    assert.equal(labd.ssh(admin, ['user', 'add', 'added', '--role', 'guest'], { input: '' }).status, 0);
  });

  test('invite: a key without an account may only join with a code; without one it is told to ask for an invite', async () => {
    const labd = booted.invite!;
    const newKey = lab.key('invite-newcomer');
    // No invite outstanding: an unknown key does not log in at all.
    const early = labd.ssh(newKey, ['help']);
    assert.equal(early.status, 255, early.stderr);
    const { code } = createInvite(labd, ['--role', 'operator', 'for', 'nina']);
    const other = labd.ssh(newKey, ['whoami']);
    assert.equal(other.status, 3, other.stderr);
    assert.match(other.stderr, /this key has no account yet; sign up with: join CODE \(see help join\)/);
    const help = labd.ssh(newKey, ['help', '--json']);
    assert.equal(help.status, 0, help.stderr);
    assert.deepEqual((JSON.parse(help.stdout) as { command: string }[]).map((c) => c.command).sort(), ['help', 'join']);
    const noCode = labd.ssh(newKey, ['join', '--name', 'nocode']);
    assert.equal(noCode.status, 3, noCode.stderr);
    assert.match(noCode.stderr, /invite only/);
    // The terminal UI is not offered to a newcomer.
    const k = certFor(lab, ca, { principals: ['invitecert'] });
    // The certificate creates no account; ssh then offers its key alone, which comes in as a newcomer.
    const c = labd.ssh(k.key, ['whoami'], { cert: k.cert });
    assert.equal(c.status, 3, c.stderr);
    assert.match(c.stderr, /no account yet/);

    const joined = labd.ssh(newKey, ['join', code, '--name', 'nina']);
    assert.equal(joined.status, 0, joined.stderr);
    assert.match(joined.stdout, /welcome, nina \(operator\)/);
    const who = JSON.parse(labd.ssh(newKey, ['whoami', '--json']).stdout) as { user: string; role: string };
    assert.deepEqual([who.user, who.role], ['nina', 'operator']);
    const users = JSON.parse(labd.ssh(admin, ['user', 'ls', '--json']).stdout) as { name: string }[];
    assert.deepEqual(users.map((u) => u.name).sort(), ['admin', 'nina']);
    const rows = audit(labd, 'join');
    assert.deepEqual(
      rows.map((r) => [r.actor, r.outcome, r.args.code, r.args.name]),
      [
        ['newcomer', 'permission', undefined, 'nocode'],
        ['newcomer', 'ok', '[redacted]', 'nina'],
      ],
    );
    assert.match(rows.at(-1)!.credential ?? '', /^new key SHA256:/);
    // The join's row says which account the newcomer became, with which key, from which invite.
    const fingerprint = run('ssh-keygen', ['-lf', `${newKey}.pub`]).stdout.split(' ')[1];
    const invites = JSON.parse(labd.ssh(admin, ['invite', 'ls', '--json']).stdout) as {
      id: number;
      usedBy: { user: string; fingerprint: string; at: string }[];
    }[];
    const used = invites.find((i) => i.usedBy.length)!;
    assert.deepEqual(rows.at(-1)!.args, { code: '[redacted]', name: 'nina', account: 'nina', role: 'operator', fingerprint, invite: used.id });
    // invite ls says who used the invite, and when (text and JSON).
    assert.deepEqual(
      used.usedBy.map((u) => [u.user, u.fingerprint]),
      [['nina', fingerprint]],
    );
    assert.ok(Math.abs(Date.parse(used.usedBy[0]!.at) - Date.now()) < 3_600_000, used.usedBy[0]!.at);
    const text = labd.ssh(admin, ['invite', 'ls']);
    assert.match(text.stdout, /USED BY/);
    assert.match(text.stdout, new RegExp(`nina ${used.usedBy[0]!.at.slice(0, 16)}`));
  });

  test('sso: certificates sign up, plain keys join only with an invite', async () => {
    const labd = booted.sso!;
    const k = certFor(lab, ca, { principals: ['ssocert'] });
    const c = labd.ssh(k.key, ['whoami', '--json'], { cert: k.cert });
    assert.equal(c.status, 0, c.stderr);
    const plain = lab.key('sso-plain');
    assert.equal(labd.ssh(plain, ['help']).status, 255, 'no invite outstanding: unknown keys stay out');
    const { code } = createInvite(labd);
    const open = labd.ssh(plain, ['join', '--name', 'ssoplain']);
    assert.equal(open.status, 3, open.stderr);
    assert.match(open.stderr, /invite only/);
    assert.equal(labd.ssh(plain, ['join', code, '--name', 'ssoplain']).status, 0);
  });

  test('open: a plain key signs up with join --name; names are exact and never collide', async () => {
    const labd = booted.open!;
    const dave = lab.key('open-dave');
    const joined = labd.ssh(dave, ['join', '--name', 'dave']);
    assert.equal(joined.status, 0, joined.stderr);
    assert.match(joined.stdout, /welcome, dave \(member\)/);
    // The same key again: it has an account now.
    const again = labd.ssh(dave, ['join', '--name', 'dave2']);
    assert.equal(again.status, 1, again.stderr);
    assert.match(again.stderr, /you already have an account \(dave\)/);
    const mallory = lab.key('open-mallory');
    for (const name of ['dave', 'admin']) {
      const taken = labd.ssh(mallory, ['join', '--name', name]);
      assert.equal(taken.status, 1, taken.stderr);
      assert.match(taken.stderr, new RegExp(`the name '${name}' is taken`));
    }
    const bad = labd.ssh(mallory, ['join', '--name', 'Dave']);
    assert.equal(bad.status, 2, bad.stderr);
    const users = JSON.parse(labd.ssh(admin, ['user', 'ls', '--json']).stdout) as { name: string }[];
    assert.deepEqual(users.map((u) => u.name).sort(), ['admin', 'dave']);
    assert.deepEqual(
      audit(labd, 'join').map((r) => [r.args.name, r.outcome]),
      [
        ['dave', 'ok'],
        ['dave2', 'conflict'],
        ['dave', 'conflict'],
        ['admin', 'conflict'],
        ['Dave', 'usage'],
      ],
    );
  });
});

describe('invites', () => {
  let labd: LabdProcess;
  before(async () => {
    labd = booted.invites!;
    // Unknown keys come in (to join) only while some invite is usable: one stays open for these tests.
    createInvite(labd, ['--uses', '1000', 'keeps', 'the', 'door', 'open']);
  });

  test('a code works once; reused, wrong, withdrawn and expired codes are refused clearly; codes are stored hashed', async () => {
    const { id, code } = createInvite(labd, ['--role', 'guest']);
    const first = lab.key('inv-first');
    const second = lab.key('inv-second');
    assert.equal(labd.ssh(first, ['join', code, '--name', 'first']).status, 0);
    const reused = labd.ssh(second, ['join', code, '--name', 'second']);
    assert.equal(reused.status, 3, reused.stderr);
    assert.match(reused.stderr, /this invite was already used: ask for a new one/);
    const wrong = labd.ssh(second, ['join', code.slice(0, -2) + 'xx', '--name', 'second']);
    assert.equal(wrong.status, 3, wrong.stderr);
    assert.match(wrong.stderr, /this invite code is not valid/);

    const withdrawn = createInvite(labd);
    assert.equal(labd.ssh(admin, ['invite', 'rm', String(withdrawn.id), '--yes']).status, 0);
    const afterRm = labd.ssh(second, ['join', withdrawn.code, '--name', 'second']);
    assert.equal(afterRm.status, 3);
    assert.match(afterRm.stderr, /not valid/);

    const shortLived = createInvite(labd, ['--expires', '1s']);
    await until('the short-lived invite to expire', () => Date.now() > Date.parse(shortLived.expiresAt!), { intervalMs: 50 });
    const expired = labd.ssh(second, ['join', shortLived.code, '--name', 'second']);
    assert.equal(expired.status, 3, expired.stderr);
    assert.match(expired.stderr, /this invite expired at .*: ask for a new one/);

    // Two uses: two accounts, then no more.
    const twice = createInvite(labd, ['--uses', '2']);
    assert.equal(labd.ssh(second, ['join', twice.code, '--name', 'second']).status, 0);
    assert.equal(labd.ssh(lab.key('inv-third'), ['join', twice.code, '--name', 'third']).status, 0);
    assert.match(labd.ssh(lab.key('inv-fourth'), ['join', twice.code, '--name', 'fourth']).stderr, /already used/);

    const ls = JSON.parse(labd.ssh(admin, ['invite', 'ls', '--json']).stdout) as {
      id: number;
      state: string;
      used: string;
      role: string;
      usedBy: { user: string }[];
    }[];
    assert.deepEqual(
      ls.filter((r) => [id, shortLived.id, twice.id].includes(r.id)).map((r) => [r.id, r.state, r.used, r.usedBy.map((u) => u.user)]),
      [
        [id, 'used', '1/1', ['first']],
        [shortLived.id, 'expired', '0/1', []],
        [twice.id, 'used', '2/2', ['second', 'third']],
      ],
    );
    // Neither the database nor labd's log holds a code.
    labd.ssh(admin, ['version']);
    const db = readFileSync(join(labd.dataDir, 'labd.db'));
    const wal = (() => {
      try {
        return readFileSync(join(labd.dataDir, 'labd.db-wal'));
      } catch {
        return Buffer.alloc(0);
      }
    })();
    for (const c of [code, withdrawn.code, twice.code]) {
      assert.ok(!db.includes(c) && !wal.includes(c), 'no code in the database');
      assert.ok(!labd.logs().includes(c), 'no code in the log');
    }
    const joins = audit(labd, 'join');
    assert.ok(joins.every((r) => r.args.code === '[redacted]' && r.credential?.startsWith('new key SHA256:')));
    assert.deepEqual(
      joins.map((r) => r.outcome),
      ['ok', 'permission', 'permission', 'permission', 'permission', 'ok', 'ok', 'permission'],
    );
    assert.deepEqual(
      audit(labd, 'invite create').map((r) => r.outcome),
      ['ok', 'ok', 'ok', 'ok', 'ok'],
    );
    assert.deepEqual(
      audit(labd, 'invite rm').map((r) => [r.args.id, r.outcome]),
      [[withdrawn.id, 'ok']],
    );
  });

  test('guessing is bounded: after five wrong codes a key is refused even with the right one; another key still joins', () => {
    const { code } = createInvite(labd);
    const guesser = lab.key('inv-guesser');
    for (let i = 0; i < 5; i++) {
      const r = labd.ssh(guesser, ['join', `inv-guess${i}`, '--name', 'guesser']);
      assert.match(r.stderr, /not valid/);
    }
    const blocked = labd.ssh(guesser, ['join', code, '--name', 'guesser']);
    assert.equal(blocked.status, 3);
    assert.match(blocked.stderr, /too many wrong invite codes/);
    const honest = labd.ssh(lab.key('inv-honest'), ['join', code, '--name', 'honest']);
    assert.equal(honest.status, 0, honest.stderr);
  });

  test('join CODE without --name takes the SSH user name when it is valid and free; otherwise it asks for --name', () => {
    const created = labd.ssh(admin, ['invite', 'create']);
    assert.equal(created.status, 0, created.stderr);
    const code = /^(inv-\S+)$/m.exec(created.stdout)![1]!;
    assert.match(created.stdout, new RegExp(`^  ssh HOST join ${code}$`, 'm'), 'the invite says how to use it, without --name');
    const invalid = labd.ssh(lab.key('inv-upper'), ['join', code], { user: 'Ruth.Smith' });
    assert.equal(invalid.status, 2, invalid.stderr);
    assert.match(invalid.stderr, /give the user name you want: join CODE --name NAME \(your SSH user name 'Ruth\.Smith' is not a valid labd user name/);
    const takenKey = lab.key('inv-taken');
    const taken = labd.ssh(takenKey, ['join', code], { user: 'admin' });
    assert.equal(taken.status, 1, taken.stderr);
    assert.match(taken.stderr, /the name 'admin' \(your SSH user name\) is taken: choose one with {2}join CODE --name NAME/);
    const joined = labd.ssh(lab.key('inv-ruth'), ['join', code], { user: 'ruth' });
    assert.equal(joined.status, 0, joined.stderr);
    assert.match(joined.stdout, /welcome, ruth \(member\)/);
    const users = JSON.parse(labd.ssh(admin, ['user', 'ls', '--json']).stdout) as { name: string }[];
    assert.ok(users.some((u) => u.name === 'ruth'));
    const rows = audit(labd, 'join').slice(-3);
    assert.deepEqual(
      rows.map((r) => [r.outcome, r.args.name ?? null]),
      [
        ['usage', null],
        ['conflict', null],
        ['ok', null],
      ],
    );
  });

  test('join on a connection that is kept open (ControlMaster): the next command runs as the new user', async () => {
    const { code } = createInvite(labd);
    const key = lab.key('inv-mux');
    const controlPath = join(lab.dir, 'cm-inv');
    try {
      const help = await labd.sshShared(key, controlPath, ['help']);
      assert.equal(help.status, 0, help.stderr);
      const joined = await labd.sshShared(key, controlPath, ['join', code, '--name', 'muxed']);
      assert.equal(joined.status, 0, joined.stderr);
      const who = await labd.sshShared(key, controlPath, ['whoami', '--json']);
      assert.equal(who.status, 0, who.stderr);
      assert.equal((JSON.parse(who.stdout) as { user: string }).user, 'muxed');
      assert.equal((labd.logs().match(/accepted an unknown key as a newcomer/g) ?? []).length > 0, true);
    } finally {
      run('ssh', ['-O', 'exit', '-o', `ControlPath=${controlPath}`, '-p', String(labd.sshPort), 'labd@127.0.0.1']);
    }
  });
});

describe('invite guessing across a restart', () => {
  test('wrong codes are remembered by the database: after a restart the guessing key is still refused, another key joins', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'labd-data-'));
    const opts = { dataDir, caKeys: [`${ca}.pub`], adminKeys: [lab.publicKey(admin)], env: { LABD_SIGNUP: 'invite' } };
    let labd = await LabdProcess.start(opts);
    try {
      const { code } = createInvite(labd, ['--uses', '2']);
      const guesser = lab.key('restart-guesser');
      for (let i = 0; i < 5; i++) assert.match(labd.ssh(guesser, ['join', `inv-wrong${i}`, '--name', 'guesser']).stderr, /not valid/);
      await labd.stop();
      labd = await LabdProcess.start(opts);
      const blocked = labd.ssh(guesser, ['join', code, '--name', 'guesser']);
      assert.equal(blocked.status, 3, blocked.stderr);
      assert.match(blocked.stderr, /too many wrong invite codes/);
      const honest = labd.ssh(lab.key('restart-honest'), ['join', code, '--name', 'honest']);
      assert.equal(honest.status, 0, honest.stderr);
    } finally {
      await labd.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
