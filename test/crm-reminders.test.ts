import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Database } from '../src/db/sqlite-driver.ts';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { RecordingServer } from './support/recorder.ts';
import { until } from './support/wait.ts';

describe('CRM daily reminders through Apprise', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let apprise: RecordingServer;
  let alice: string;

  before(async () => {
    apprise = await RecordingServer.start();
    // Apprise fails until the contacts are all in (so no check sees half of them), then once more:
    // a failed reminder is tried again at the next check, not lost.
    apprise.failNext(1_000_000, 503);
    const admin = lab.key('admin');
    alice = lab.key('alice');
    const bob = lab.key('bob');
    labd = await InProcessLabd.start({
      adminKeys: [lab.publicKey(admin)],
      env: { LABD_CRM_REMINDERS_APPRISE: `${apprise.url}/notify/labd`, LABD_CRM_REMIND_AT: '00:00', LABD_CRM_REMINDER_CHECK_INTERVAL: '1s' },
    });
    for (const [name, key] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      assert.equal((await labd.ssh(admin, ['user', 'add', name, '--role', 'member', '--key', `'${lab.publicKey(key)}'`])).status, 0);
    }
    const today = new Date().toISOString().slice(5, 10);
    const add = async (key: string, args: string[]) => {
      const r = await labd.ssh(key, ['crm', 'add', ...args, '--json']);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { id: number };
    };
    const olga = await add(alice, ['Olga', 'Overdue', '--stay-in-touch', '7']);
    assert.equal((await labd.ssh(alice, ['crm', 'met', String(olga.id), '--on', '2020-01-01'])).status, 0);
    await add(alice, ['Bea', 'Birthday', '--birthday', today]);
    await add(alice, ['Nobody', 'Due']);
    await add(bob, ['Fresh', 'Friend', '--stay-in-touch', '30']);
    apprise.failNext(1, 503);
  });
  after(async () => {
    await labd?.stop();
    await apprise?.stop();
    lab.cleanup();
  });

  test('one notice per user per day: overdue people and birthdays today; nobody with nothing due', async () => {
    const delivered = await until('the reminder accepted by Apprise', () => apprise.requests.find((r) => r.status === 200 && r.body.includes('(alice)')));
    assert.ok(
      apprise.requests.some((r) => r.status === 503 && r.body.includes('(alice)')),
      'the failed first attempt was made',
    );
    const body = JSON.parse(delivered.body) as { title: string; body: string; type: string; tag: string };
    assert.equal(body.title, 'labd: 2 people to catch up with (alice)');
    assert.match(body.body, /Olga Overdue: overdue/);
    assert.match(body.body, /Bea Birthday: birthday today/);
    assert.doesNotMatch(body.body, /Nobody Due/);
    assert.equal(body.type, 'info');
    assert.equal(body.tag, 'alice', "tagged with the user's name, so Apprise routes it to alice's own services");
    // Recorded for the day, so no second notice today (also after a restart).
    const today = new Date().toISOString().slice(0, 10);
    // labd records the day once Apprise has answered, so the row may lag the request by a moment.
    const remindedToday = () => {
      const db = new Database(join(labd.dataDir, 'labd.db'), { readonly: true });
      try {
        const rows = db.prepare('select u.name, b.reminded_on as day from crm_books b join users u on u.id = b.owner_id order by u.name').all() as {
          name: string;
          day: string | null;
        }[];
        return rows.filter((r) => r.day === today).map((r) => r.name);
      } finally {
        db.close();
      }
    };
    await until('the reminder to be recorded for today', () => remindedToday().length > 0);
    assert.deepEqual(remindedToday(), ['alice']);
    assert.ok(!apprise.requests.some((r) => r.body.includes('(bob)')), 'bob had nothing due: no notice');
    assert.equal(apprise.requests.filter((r) => r.status === 200).length, 1);
  });
});
