/** The fake homeserver's spec check refuses what a homeserver would, and passes what the bot sends. */
import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import { SpecChecker } from './support/fake-matrix/spec-check.ts';

const checker = new SpecChecker();
const base = { sender: '@labd:fake.test', room_id: '!ops:fake.test' };
const problems = (type: string, content: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  checker.check({ ...base, ...extra, type, content }).flatMap((v) => v.errors);

describe('fake homeserver: Matrix spec checks of sent events', () => {
  test('a notice reply with HTML, an edit, a reaction and a redaction pass', () => {
    const notice = { msgtype: 'm.notice', body: 'ok', format: 'org.matrix.custom.html', formatted_body: '<b>ok</b>', 'm.mentions': {} };
    assert.deepEqual(problems('m.room.message', { ...notice, 'm.relates_to': { 'm.in_reply_to': { event_id: '$req' } } }), []);
    assert.deepEqual(problems('m.room.message', { ...notice, 'm.new_content': notice, 'm.relates_to': { rel_type: 'm.replace', event_id: '$old' } }), []);
    assert.deepEqual(
      problems('m.room.message', {
        ...notice,
        'm.relates_to': { rel_type: 'm.thread', event_id: '$root', is_falling_back: true, 'm.in_reply_to': { event_id: '$req' } },
      }),
      [],
    );
    assert.deepEqual(problems('m.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$req', key: '👀' } }), []);
    assert.deepEqual(problems('m.room.redaction', { reason: 'unack' }, { redacts: '$ack' }), []);
    assert.deepEqual(problems('org.example.custom', { anything: 1 }), []);
  });

  test('malformed contents are refused with the reason', () => {
    assert.match(problems('m.room.message', { msgtype: 'm.notice' }).join(), /must have required property 'body'/);
    assert.match(problems('m.room.message', { msgtype: 'm.notice', body: 'x', format: 'org.matrix.custom.html' }).join(), /formatted_body/);
    assert.match(problems('m.room.message', { msgtype: 'm.notice', body: 'x', format: 'text/html', formatted_body: 'x' }).join(), /constant/);
    assert.match(problems('m.room.message', { msgtype: 'm.notice', body: 'x', 'm.relates_to': { 'm.in_reply_to': { event_id: 'req' } } }).join(), /pattern/);
    assert.match(
      problems('m.room.message', { msgtype: 'm.notice', body: 'x', 'm.relates_to': { rel_type: 'm.replace', event_id: '$old' } }).join(),
      /m\.new_content/,
    );
    assert.match(
      problems('m.room.message', {
        msgtype: 'm.notice',
        body: 'x',
        'm.new_content': { msgtype: 'm.notice' },
        'm.relates_to': { rel_type: 'm.replace', event_id: '$old' },
      }).join(),
      /'body'/,
    );
    assert.match(problems('m.room.message', { msgtype: 'm.text', body: 'x', 'm.mentions': { user_ids: ['alice'] } }).join(), /pattern/);
    assert.match(problems('m.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$req' } }).join(), /'key'/);
    assert.notDeepEqual(problems('m.room.redaction', { reason: 'no target' }), []);
  });
});
