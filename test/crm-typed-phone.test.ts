/**
 * A phone number typed with spaces over SSH (issue #23 point 3): the local shell removes the quotes
 * of `--phone "+44 20 7946 0958"`, so labd receives four words. They are the phone's, not the
 * name's; and a phone that cannot be right (`+44`, a country code alone) is refused, not stored.
 * Run with the real OpenSSH client, which joins the words exactly as a user's shell passed them.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

interface ContactJson {
  id: number;
  name: string;
  phones: { value: string; e164?: string }[];
  tags: string[];
  company: string | null;
}

describe('crm add and edit with a phone typed with spaces', () => {
  const lab = new KeyLab();
  const admin = lab.key('admin');
  let labd: InProcessLabd;
  before(async () => {
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });
  const show = async (who: string): Promise<ContactJson> => {
    const r = await labd.ssh(admin, ['crm', 'show', who, '--json']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as ContactJson;
  };

  test('the words of the number are the phone, not part of the name', async () => {
    // What bash hands ssh for: crm add Test Person --phone "+44 20 7946 0958" --tag friends
    const r = await labd.ssh(admin, ['crm', 'add', 'Test', 'Person', '--phone', '+44 20 7946 0958', '--tag', 'friends']);
    assert.equal(r.status, 0, r.stderr);
    const c = await show('Test Person');
    assert.deepEqual([c.name, c.phones, c.tags], ['Test Person', [{ value: '+44 20 7946 0958', e164: '+442079460958' }], ['friends']]);
    // Quoted twice (--phone "'+44 20 7946 0958'": bash leaves the inner quotes, labd splits them) it is the same number.
    const twice = await labd.ssh(admin, ['crm', 'add', 'Quoted', 'Twice', '--phone', `'+44 20 7946 0958'`]);
    assert.equal(twice.status, 0, twice.stderr);
    assert.deepEqual((await show('Quoted Twice')).phones, [{ value: '+44 20 7946 0958', e164: '+442079460958' }]);
    // The name may come after the number.
    const after = await labd.ssh(admin, ['crm', 'add', '--phone', '+49 170 1234567', 'Name', 'After']);
    assert.equal(after.status, 0, after.stderr);
    assert.deepEqual((await show('Name After')).phones, [{ value: '+49 170 1234567', e164: '+491701234567' }]);
    const edit = await labd.ssh(admin, ['crm', 'edit', String(c.id), '--phone', '+49 30 1234567', '--company', 'ACME']);
    assert.equal(edit.status, 0, edit.stderr);
    const edited = await show(String(c.id));
    assert.deepEqual([edited.name, edited.phones, edited.company], ['Test Person', [{ value: '+49 30 1234567', e164: '+49301234567' }], 'ACME']);
  });

  test('a country code alone is refused and nothing is stored', async () => {
    const r = await labd.ssh(admin, ['crm', 'add', 'Only', 'Code', '--phone', '+44', '--tag', 'x']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /not a whole phone number: '\+44' \(a country code alone\)/);
    const ls = await labd.ssh(admin, ['crm', 'ls', 'Only', '--json']);
    assert.deepEqual(JSON.parse(ls.stdout), []);
    const inline = await labd.ssh(admin, ['crm', 'add', 'Inline', 'Code', '--phone=+44', '20']);
    assert.equal(inline.status, 2, inline.stderr);
  });
});
