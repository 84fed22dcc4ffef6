import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { replyTo, repliesTo, startBotLab, stopBotLab, waitFor, type BotLab } from './support/fake-matrix/harness.ts';

describe('Matrix bot commands', () => {
  let lab: BotLab;
  before(async () => {
    lab = await startBotLab();
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
});
