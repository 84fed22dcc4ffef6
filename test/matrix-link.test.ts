/**
 * Matrix identities linked by their owner: `!lab link` through the fake homeserver answers with a
 * one-time code, `ssh … link CODE` with the real OpenSSH client (a certificate user) confirms it,
 * and the bot then acts for that Matrix id as the linked user. Wrong, expired and reused codes
 * are refused with the reason; both halves are audited with the code redacted; only its hash is stored.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { openDb } from '../src/db/client.ts';
import { certFor, type KeyAndCert } from './support/auth-lab.ts';
import { replyTo, startBotLab, stopBotLab, waitFor, type BotLab } from './support/fake-matrix/harness.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import type { Room } from './support/fake-matrix/rooms.ts';
import { KeyLab } from './support/labd.ts';

const CODE = /link ([a-z2-9]{5}-[a-z2-9]{5})\b/;

describe('linking a Matrix account to a labd user', () => {
  const keys = new KeyLab();
  let lab: BotLab<InProcessLabd>;
  let mal: KeyAndCert;
  const say = (who: 'alice' | 'bob' | 'mallory', body: string) => lab.fake.say(lab.room.roomId, lab[who].userId, body);
  const body = async (who: 'alice' | 'bob' | 'mallory', text: string) => String((await replyTo(lab, say(who, text))).content.body);
  const sshLink = (code: string) => lab.labd.sshAsync(mal.key, ['link', code], { cert: mal.cert });

  before(async () => {
    const ca = keys.key('link-ca');
    const caFile = join(keys.dir, 'user_ca_keys');
    writeFileSync(caFile, keys.publicKey(ca) + '\n');
    lab = await startBotLab({ env: { LABD_USER_CA_KEYS: caFile, LABD_CRM_REMIND_AT: '00:00', LABD_CRM_REMINDER_CHECK_INTERVAL: '1s' } }, InProcessLabd.start);
    mal = certFor(keys, ca, { principals: ['mal'], id: 'mal@example.com' });
  });
  after(async () => {
    await stopBotLab(lab);
    keys.cleanup();
  });

  test('!lab link gives a code; ssh link CODE links it; the bot then acts as that user; the code is used once', async () => {
    assert.match(await body('mallory', '!lab whoami'), /guest/);
    const answer = await body('mallory', '!lab link');
    assert.match(answer, /To link @mallory:fake\.test to your labd user, run within 10 minutes: ssh -p \d+ 127\.0\.0\.1 link [a-z2-9]{5}-[a-z2-9]{5}/);
    const code = CODE.exec(answer)![1]!;

    const wrong = await sshLink('abcde-fghjk');
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stderr, /no such link code/);

    const ok = await sshLink(code.toUpperCase());
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /linked @mallory:fake\.test to mal: the bot now acts for it as mal/);

    const me = await body('mallory', '!lab whoami --json');
    const who = JSON.parse(me) as { user: string; role: string; via: string; credential: { mxid: string } };
    assert.deepEqual([who.user, who.role, who.via, who.credential.mxid], ['mal', 'member', 'matrix', '@mallory:fake.test']);

    const again = await sshLink(code);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /that link code was already used .*send '!lab link' again/);

    // Stored hashed: the plain code is nowhere in the database, its SHA-256 is.
    const db = openDb(lab.labd.dataDir);
    try {
      const rows = db.$client.prepare('SELECT code_hash, mxid, used_at FROM matrix_link_codes').all() as {
        code_hash: string;
        mxid: string;
        used_at: number | null;
      }[];
      const hash = createHash('sha256').update(code.replace('-', '')).digest('hex');
      assert.ok(rows.some((r) => r.code_hash === hash && r.mxid === '@mallory:fake.test' && r.used_at !== null));
      assert.ok(!JSON.stringify(rows).includes(code) && !JSON.stringify(rows).includes(code.replace('-', '')));
    } finally {
      db.$client.close();
    }

    // Both halves audited, the code redacted.
    const audit = JSON.parse((await lab.labd.sshAsync(lab.adminKey, ['audit', '--json'])).stdout) as {
      command: string;
      actor: string;
      via: string;
      args: string;
      outcome: string;
    }[];
    const links = audit.filter((a) => a.command === 'link');
    assert.ok(links.some((a) => a.actor === '@mallory:fake.test' && a.via === 'matrix' && a.outcome === 'ok'));
    assert.ok(links.some((a) => a.actor === 'mal' && a.via === 'ssh' && a.outcome === 'ok'));
    assert.ok(
      links.some((a) => a.actor === 'mal' && a.outcome !== 'ok'),
      'the refused attempts are audited too',
    );
    assert.ok(
      links.every((a) => !a.args.includes(code) && !a.args.includes('abcde-fghjk')),
      JSON.stringify(links),
    );
  });

  test("direct notices (the CRM's daily reminder) go to the Matrix id the user linked", async () => {
    const add = await lab.labd.sshAsync(mal.key, ['crm', 'add', 'Olga', 'Overdue', '--stay-in-touch', '7', '--json'], { cert: mal.cert });
    assert.equal(add.status, 0, add.stderr);
    const met = await lab.labd.sshAsync(mal.key, ['crm', 'met', String((JSON.parse(add.stdout) as { id: number }).id), '--on', '2020-01-01'], {
      cert: mal.cert,
    });
    assert.equal(met.status, 0, met.stderr);
    const reminder = (r: Room) =>
      r.timeline.map((x) => x.event).find((e) => e.sender === lab.bot.userId && e.type === 'm.room.message' && String(e.content.body).startsWith('labd: '));
    const direct = await waitFor(
      "a direct chat with mallory holding mal's reminder",
      () => lab.fake.store.joinedRooms(lab.bot.userId).find((r) => lab.fake.store.membership(r, lab.mallory.userId) === 'invite' && reminder(r)),
      lab.labd,
    );
    assert.match(String(reminder(direct)!.content.body), /^labd: 1 person to catch up with \(mal\)\nOlga Overdue/);
  });

  test('an expired code is refused with when it expired', async () => {
    const code = CODE.exec(await body('bob', '!lab link'))![1]!;
    const db = openDb(lab.labd.dataDir);
    try {
      // Ten minutes are a long wait for a test: the code's expiry is moved to the past instead.
      const hash = createHash('sha256').update(code.replace('-', '')).digest('hex');
      const changed = db.$client.prepare('UPDATE matrix_link_codes SET expires_at = ? WHERE code_hash = ?').run(Date.now() - 1000, hash);
      assert.equal(changed.changes, 1);
    } finally {
      db.$client.close();
    }
    const r = await sshLink(code);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /that link code expired at \d{4}-\d\d-\d\dT.*send '!lab link' again/);
    assert.equal(JSON.parse(await body('bob', '!lab whoami --json')).user, 'bob', "bob's Matrix id still acts as the user the map gives it");
  });

  test('asking again replaces the earlier code: only the newest one links', async () => {
    const first = CODE.exec(await body('mallory', '!lab link'))![1]!;
    const second = CODE.exec(await body('mallory', '!lab link'))![1]!;
    const old = await sshLink(first);
    assert.notEqual(old.status, 0);
    assert.match(old.stderr, /no such link code/);
    const r = await sshLink(second);
    assert.equal(r.status, 0, r.stderr);
  });

  test('a code typed in Matrix is refused there: it is confirmed over SSH only', async () => {
    const answer = await body('alice', '!lab link abcde-fghjk');
    assert.match(answer, /confirm the code over SSH, as your labd user: ssh -p \d+ 127\.0\.0\.1 link CODE/);
  });
});
