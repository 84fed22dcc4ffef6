/**
 * The CRM's daily reminder through the Matrix bot: a direct chat the bot opens with the person the
 * lab mapped to the labd user, once per day; or a room they chose; or nothing when they turned it off.
 * The homeserver is the protocol-level fake (test/support/fake-matrix).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { Database } from '../src/db/sqlite-driver.ts';
import type { MatrixEvent, Room } from './support/fake-matrix/rooms.ts';
import { startBotLab, stopBotLab, waitFor, type BotLab } from './support/fake-matrix/harness.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

describe('CRM reminders over Matrix', () => {
  let lab: BotLab<InProcessLabd>;
  const notices = (room: Room): MatrixEvent[] =>
    room.timeline.map((s) => s.event).filter((e) => e.type === 'm.room.message' && e.sender === lab.bot.userId && e.content.msgtype === 'm.notice');
  const reminders = (room: Room) => notices(room).filter((e) => String(e.content.body).startsWith('labd: '));
  const sql = (statement: string, ...params: unknown[]) => {
    const db = new Database(join(lab.labd.dataDir, 'labd.db'));
    try {
      return db.prepare(statement).run(...params);
    } finally {
      db.close();
    }
  };

  before(async () => {
    lab = await startBotLab({ env: { LABD_CRM_REMIND_AT: '00:00', LABD_CRM_REMINDER_CHECK_INTERVAL: '1s' } }, InProcessLabd.start);
  });
  after(async () => {
    await stopBotLab(lab);
  });

  test('a direct chat with the mapped person, once a day; crm remind chooses a room or turns it off', async () => {
    const ssh = (args: string[]) => lab.labd.ssh(lab.adminKey, args);
    const shown = await ssh(['crm', 'remind']);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /daily reminder: Matrix \(a direct chat with the bot\)/);

    const olga = JSON.parse((await ssh(['crm', 'add', 'Olga', 'Overdue', '--stay-in-touch', '7', '--json'])).stdout) as { id: number };
    assert.equal((await ssh(['crm', 'met', String(olga.id), '--on', '2020-01-01'])).status, 0);

    // The bot opens a direct chat with @alice (mapped to the labd admin) and leaves the notice there.
    const direct = await waitFor(
      'a direct chat with alice holding the reminder',
      () => lab.fake.store.joinedRooms(lab.bot.userId).find((r) => lab.fake.store.membership(r, lab.alice.userId) === 'invite' && reminders(r).length > 0),
      lab.labd,
    );
    const invite = direct.state.get(`m.room.member\u0000${lab.alice.userId}`)!;
    assert.equal(invite.content.is_direct, true);
    assert.equal(direct.state.get('m.room.join_rules\u0000')?.content.join_rule, 'invite');
    assert.ok(!lab.fake.store.membership(direct, lab.mallory.userId), 'nobody else is in the direct chat');
    const [notice] = reminders(direct);
    assert.match(String(notice!.content.body), /^labd: 1 person to catch up with \(admin\)\nOlga Overdue: overdue/);
    assert.match(String(notice!.content.formatted_body), /<strong>labd: 1 person to catch up with \(admin\)<\/strong><br>Olga Overdue: overdue/);
    // Recorded for the day: later checks send nothing more.
    await waitFor('the day to be recorded', () => {
      const db = new Database(join(lab.labd.dataDir, 'labd.db'), { readonly: true });
      try {
        return (
          (db.prepare('select reminded_on as day from crm_books').get() as { day: string | null } | undefined)?.day === new Date().toISOString().slice(0, 10)
        );
      } finally {
        db.close();
      }
    });
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(reminders(direct).length, 1, 'one reminder per day');

    // A room of the user's choice (the bot joins it): the next day's reminder goes there.
    const bad = await ssh(['crm', 'remind', '--room', 'lobby']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /expected a Matrix room id/);
    const chosen = await ssh(['crm', 'remind', '--via', 'matrix', '--room', lab.room.alias!, '--json']);
    assert.equal(chosen.status, 0, chosen.stderr);
    assert.deepEqual(JSON.parse(chosen.stdout), { via: 'matrix', room: lab.room.alias, available: ['matrix'] });
    sql("update crm_books set reminded_on = '2000-01-01'");
    await waitFor('the reminder in the chosen room', () => reminders(lab.room).length === 1, lab.labd);
    assert.equal(reminders(direct).length, 1);

    // Off: no reminder at all, however many days pass.
    assert.equal((await ssh(['crm', 'remind', '--via', 'off'])).status, 0);
    sql("update crm_books set reminded_on = '2000-01-01'");
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(reminders(lab.room).length, 1);
    assert.equal(reminders(direct).length, 1);
    assert.match((await ssh(['crm', 'remind'])).stdout, /daily reminder: off/);
  });
});
