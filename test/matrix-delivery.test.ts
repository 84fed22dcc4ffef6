import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { Database } from '../src/db/sqlite-driver.ts';
import { LabdProcess } from './support/labd.ts';
import { replyTo, repliesTo, startBotLab, stopBotLab, waitFor, type BotLab } from './support/fake-matrix/harness.ts';

const botSends = (lab: BotLab) =>
  lab.fake.requests.filter((q) => q.method === 'PUT' && q.userId !== lab.alice.userId && /\/send\/m\.room\.message\//.test(q.path));

// One labd for both: the restart's replay then also holds the delivery test's commands, which must not run again either.
describe('Matrix bot delivery and restart', () => {
  let lab: BotLab;
  const dataDir = mkdtempSync(join(tmpdir(), 'labd-matrix-'));
  before(async () => {
    lab = await startBotLab({ dataDir });
  });
  after(async () => {
    await stopBotLab(lab);
    rmSync(dataDir, { recursive: true, force: true });
  });
  let earlier: ReturnType<BotLab['fake']['say']>[] = [];

  test('a reply survives 429s, a lost response and an outage, and is delivered exactly once with one txn id', async () => {
    const before = botSends(lab).length;
    lab.fake.rateLimit(2, 300);
    lab.fake.loseResponses(1);
    const ask = lab.fake.say(lab.room.roomId, lab.alice.userId, '!lab version');
    // The third attempt is stored but its response lost; then the homeserver's proxy answers 502.
    await waitFor(
      'two 429s and a lost response',
      () =>
        botSends(lab)
          .slice(before)
          .filter((q) => q.status === 502).length >= 1,
      lab.labd,
    );
    await lab.fake.setDown('502');
    await waitFor(
      'a retry against the 502 proxy',
      () =>
        botSends(lab)
          .slice(before)
          .filter((q) => q.status === 502).length >= 2,
      lab.labd,
    );
    await lab.fake.setDown('refused');
    await new Promise((r) => setTimeout(r, 3000));
    await lab.fake.setDown(false);
    await waitFor(
      'the retry after the outage to succeed',
      () =>
        botSends(lab)
          .slice(before)
          .some((q) => q.status === 200),
      lab.labd,
    );

    const attempts = botSends(lab).slice(before);
    assert.deepEqual(
      attempts.slice(0, 2).map((q) => q.status),
      [429, 429],
    );
    assert.equal(new Set(attempts.map((q) => q.path)).size, 1, `one transaction id for every attempt: ${attempts.map((q) => q.path).join(', ')}`);
    assert.equal(repliesTo(lab.fake, lab.bot, ask).length, 1);
    const reply = repliesTo(lab.fake, lab.bot, ask)[0]!;
    assert.match(String(reply.content.body), /^labd /);

    // The bot knows the message went out: the next reply follows it.
    const next = lab.fake.say(lab.room.roomId, lab.alice.userId, '!lab whoami');
    await replyTo(lab, next);
    assert.equal(repliesTo(lab.fake, lab.bot, ask).length, 1);
    earlier = [ask, next];
  });

  test('a restart runs no command twice and misses none sent while labd was down', async () => {
    const add = lab.fake.say(lab.room.roomId, lab.alice.userId, '!lab user add dave');
    assert.match(String((await replyTo(lab, add)).content.body), /^created user dave \(member\)/);
    await lab.labd.stop();

    const whileDown = lab.fake.say(lab.room.roomId, lab.alice.userId, '!lab whoami');
    lab.labd = await LabdProcess.start({ adminKeys: [lab.keys.publicKey(lab.adminKey)], env: lab.env, dataDir });
    const answered = await replyTo(lab, whileDown);
    assert.match(String(answered.content.body), /^user: admin$/m);

    const marker = lab.fake.say(lab.room.roomId, lab.alice.userId, '!lab version');
    await replyTo(lab, marker);
    assert.equal(repliesTo(lab.fake, lab.bot, add).length, 1);
    assert.equal(repliesTo(lab.fake, lab.bot, whileDown).length, 1);
    const audit = JSON.parse(lab.labd.ssh(lab.adminKey, ['audit', '--json']).stdout) as { command: string; via: string; actor: string }[];
    const adds = audit.filter((a) => a.command === 'user add' && a.via === 'matrix');
    assert.equal(adds.length, 1, JSON.stringify(audit));
    assert.equal(adds[0]!.actor, 'admin');

    // Without its sync token the bot's first sync replays the room: the processed event ids keep every command from running again.
    await lab.labd.stop();
    const db = new Database(join(dataDir, 'labd.db'));
    db.prepare("DELETE FROM matrix_state WHERE key = 'syncToken'").run();
    db.close();
    lab.labd = await LabdProcess.start({ adminKeys: [lab.keys.publicKey(lab.adminKey)], env: lab.env, dataDir });
    const marker2 = lab.fake.say(lab.room.roomId, lab.alice.userId, '!lab version');
    await replyTo(lab, marker2);
    for (const event of [...earlier, add, whileDown, marker]) assert.equal(repliesTo(lab.fake, lab.bot, event).length, 1);
    const audit2 = JSON.parse(lab.labd.ssh(lab.adminKey, ['audit', '--json']).stdout) as { command: string; via: string }[];
    assert.equal(audit2.filter((a) => a.command === 'user add' && a.via === 'matrix').length, 1);
  });
});
