/**
 * The bot measures its confirmation window by the clock labd is handed (startLabd's deps.clock, one
 * clock for the whole composition root). A test in the same process moves that clock, so a window of
 * five minutes is tested both ways without waiting: a ✅ after it runs nothing, one within it runs.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import type { Clock } from '../src/core/clock.ts';
import { replyTo, repliesTo, startBotLab, stopBotLab, waitFor, type BotLab } from './support/fake-matrix/harness.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

describe('Matrix confirmation window on the clock labd is given', () => {
  let lab: BotLab<InProcessLabd>;
  let aheadMs = 0;
  const clock: Clock = { now: () => new Date(Date.now() + aheadMs) };
  before(async () => {
    lab = await startBotLab({ env: { LABD_MATRIX_CONFIRM_WINDOW: '5m' } }, (o) => InProcessLabd.start(o, { clock }));
  });
  after(async () => {
    await stopBotLab(lab);
  });

  const users = async () => (await lab.labd.ssh(lab.adminKey, ['user', 'ls'])).stdout;

  test('a ✅ six minutes on (by that clock) runs nothing; a ✅ four minutes on runs the command', async () => {
    assert.equal((await lab.labd.ssh(lab.adminKey, ['user', 'add', 'dave'])).status, 0);
    const ask = lab.fake.say(lab.room.roomId, lab.alice.userId, '!lab user rm dave');
    const prompt = await replyTo(lab, ask);
    assert.match(String(prompt.content.body), /within 5m\.$/);
    aheadMs += 6 * 60_000;
    lab.fake.react(prompt, lab.alice.userId, '✅');
    const late = await waitFor('the answer to the late ✅', () => repliesTo(lab.fake, lab.bot, ask).find((e) => e.event_id !== prompt.event_id), lab.labd);
    assert.equal(String(late.content.body), 'That confirmation expired (after 5m); nothing was run. Send the command again.');
    assert.match(await users(), /\bdave\b/);

    const again = lab.fake.say(lab.room.roomId, lab.alice.userId, '!lab user rm dave');
    const prompt2 = await replyTo(lab, again);
    aheadMs += 4 * 60_000;
    lab.fake.react(prompt2, lab.alice.userId, '✅');
    const ran = await waitFor('the answer to the ✅ in time', () => repliesTo(lab.fake, lab.bot, again).find((e) => e.event_id !== prompt2.event_id), lab.labd);
    assert.equal(String(ran.content.body), 'removed user dave');
    assert.doesNotMatch(await users(), /\bdave\b/);
  });
});
