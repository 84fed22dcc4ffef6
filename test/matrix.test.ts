import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { replyTo, repliesTo, startBotLab, stopBotLab, waitFor, type BotLab } from './support/fake-matrix/harness.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

describe('Matrix bot commands', () => {
  let lab: BotLab<InProcessLabd>;
  before(async () => {
    lab = await startBotLab({}, InProcessLabd.start);
  });
  after(async () => {
    await stopBotLab(lab);
  });

  test('!lab whoami is answered in a reply notice with an HTML table and a plain body', async () => {
    const ask = lab.fake.say(lab.room.roomId, lab.alice.userId, '!lab whoami');
    const reply = await replyTo(lab, ask);
    assert.equal(reply.content.msgtype, 'm.notice');
    assert.equal(reply.content.format, 'org.matrix.custom.html');
    assert.match(String(reply.content.formatted_body), /<table>.*<th>user<\/th><td>admin<\/td>.*<th>via<\/th><td>matrix<\/td>/s);
    assert.match(String(reply.content.body), /^user: admin$/m);
    assert.match(String(reply.content.body), /authenticated by: Matrix @alice:fake\.test/);
    assert.deepEqual(reply.content['m.mentions'], {});
  });

  test('every event the bot sent matched the Matrix spec schemas', async () => {
    assert.deepEqual(lab.fake.schemaViolations, []);
    assert.ok(lab.fake.requests.some((q) => q.method === 'PUT' && q.userId === lab.bot.userId && q.status === 200));
  });
});

describe('Matrix bot: parsing, permissions, escaping', () => {
  let lab: BotLab<InProcessLabd>;
  before(async () => {
    lab = await startBotLab({}, InProcessLabd.start);
  });
  after(async () => {
    await stopBotLab(lab);
  });
  const say = (who: 'alice' | 'bob' | 'mallory', body: string, o?: Parameters<BotLab['fake']['say']>[3]) =>
    lab.fake.say(lab.room.roomId, lab[who].userId, body, o);

  test('!lab help lists the commands in a <pre> block', async () => {
    const reply = await replyTo(lab, say('alice', '!lab help'));
    assert.match(String(reply.content.formatted_body), /^<pre><code>labd .*whoami/s);
    assert.match(String(reply.content.body), /^\s+whoami\s+Show who you are/m);
  });

  test("a member's admin command is refused with the needed permission", async () => {
    const reply = await replyTo(lab, say('bob', '!lab user ls'));
    assert.match(String(reply.content.body), /^permission denied: 'user ls' needs admin\.users \(you are member\)/);
  });

  test('HTML in arguments comes back escaped', async () => {
    const reply = await replyTo(lab, say('alice', '!lab <img src=x onerror=alert(1)> "<b>bold</b>"'));
    const html = String(reply.content.formatted_body);
    assert.match(html, /unknown command &#39;&lt;img src=x&#39;/);
    assert.doesNotMatch(html, /<img|<b>/);
  });

  test('an unmapped Matrix user acts as a guest under their Matrix ID; refusals say so, audit rows name the ID', async () => {
    const who = await replyTo(lab, say('mallory', '!lab whoami'));
    assert.match(String(who.content.body), /^user: @mallory:fake\.test$/m);
    assert.match(String(who.content.body), /^role: guest$/m);
    assert.match(String(who.content.body), /^authenticated by: Matrix @mallory:fake\.test$/m);
    const refused = await replyTo(lab, say('mallory', '!lab user add eve'));
    assert.match(
      String(refused.content.body),
      /^Sorry, @mallory:fake\.test is not linked to a labd user, so you have guest rights\. permission denied: 'user add' needs admin\.users \(you are guest\)\. Link it to your labd user with '!lab link', or ask an admin/,
    );
    assert.doesNotMatch((await lab.labd.ssh(lab.adminKey, ['user', 'ls'])).stdout, /\beve\b/);
    const audit = JSON.parse((await lab.labd.ssh(lab.adminKey, ['audit', '--json'])).stdout) as {
      command: string;
      actor: string;
      via: string;
      credential: string;
      outcome: string;
    }[];
    const row = audit.find((a) => a.command === 'user add' && a.actor === '@mallory:fake.test');
    assert.deepEqual(row && [row.via, row.credential, row.outcome], ['matrix', 'matrix @mallory:fake.test', 'permission']);
  });

  test('a command that needs a terminal stream is refused in Matrix', async () => {
    const reply = await replyTo(lab, say('alice', '!lab keys add'));
    assert.match(String(reply.content.body), /'keys add' reads or writes a terminal stream, so it only works over SSH/);
  });

  test('an SSH-only command says why, before any confirmation is asked', async () => {
    const add = await replyTo(lab, say('alice', '!lab seat add bob-phone'));
    assert.match(
      String(add.content.body),
      /^usage error: 'seat add' is not available in Matrix, only over SSH and the terminal UI: it shows a WireGuard private key, which must never be posted in a chat room; run it with ssh -t HOST$/,
    );
    const rotate = await replyTo(lab, say('alice', '!lab keys rotate seat bob-phone'));
    assert.match(String(rotate.content.body), /^usage error: 'keys rotate seat' is not available in Matrix, only over SSH/);
    assert.doesNotMatch(String(rotate.content.body), /confirm/i);
  });

  test("an unknown command suggests '!lab help'", async () => {
    const reply = await replyTo(lab, say('alice', '!lab frob'));
    assert.equal(String(reply.content.body), "usage error: unknown command 'frob' (try '!lab help')");
  });

  test("the bot ignores its own events and other bots' notices", async () => {
    const otherBot = lab.fake.addUser('otherbot');
    const notice = lab.fake.inject(lab.room.roomId, otherBot.userId, { msgtype: 'm.notice', body: '!lab whoami' });
    const own = lab.fake.inject(lab.room.roomId, lab.bot.userId, { msgtype: 'm.text', body: '!lab whoami' });
    const marker = say('alice', '!lab version');
    await replyTo(lab, marker);
    assert.deepEqual(repliesTo(lab.fake, lab.bot, notice), []);
    assert.deepEqual(repliesTo(lab.fake, lab.bot, own), []);
  });

  test('replies with a quoted fallback and edits are parsed from their real text', async () => {
    const chat = say('bob', 'anyone around?\n!lab whoami');
    const reply = await replyTo(lab, say('alice', '!lab whoami', { replyTo: chat, fallback: true }));
    assert.match(String(reply.content.body), /^user: admin$/m);

    // A message that was not a command, edited into one, runs; its "* " fallback body is not parsed.
    const typo = say('alice', 'lab version');
    const edit = lab.fake.edit(typo, '!lab version');
    const edited = await replyTo(lab, edit);
    assert.match(String(edited.content.body), /^labd /);

    // Editing a command that already ran does not run it again.
    const ran = say('alice', '!lab whoami');
    await replyTo(lab, ran);
    const reEdit = lab.fake.edit(ran, '!lab whoami --json');
    const marker = say('alice', '!lab version');
    await replyTo(lab, marker);
    assert.deepEqual(repliesTo(lab.fake, lab.bot, reEdit), []);
    assert.equal(repliesTo(lab.fake, lab.bot, ran).length, 1);
  });

  test('the bot joined only its configured room, not a room it was invited to', async () => {
    const other = lab.fake.createRoom(lab.alice.userId, { alias: 'elsewhere', invite: [lab.bot.userId] });
    const marker = say('alice', '!lab version');
    await replyTo(lab, marker);
    await waitFor('a sync after the invite', () => lab.fake.requests.filter((q) => q.path.endsWith('/sync') && q.userId === lab.bot.userId).length > 2);
    assert.equal(lab.fake.store.membership(other, lab.bot.userId), 'invite');
  });

  test('every event the bot sent matched the Matrix spec schemas', async () => {
    assert.deepEqual(lab.fake.schemaViolations, []);
    assert.ok(lab.fake.requests.some((q) => q.method === 'PUT' && q.userId === lab.bot.userId && q.status === 200));
  });
});
