/**
 * Issue #24 item 10: a private repository's name must not show through `repo create`, `repo
 * rename` or `repo import` ("already exists") while `repo info` says there is no such repository.
 * A taken name is "not available" in the same words whoever asks and whatever the repository is.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

describe('probing private repository names', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let alice: string; // operator: may create repositories
  const ssh = (key: string, command: string[]) => labd.ssh(key, command);
  /** What a probe tells: exit status and the message with the probed name taken out. */
  const answer = async (key: string, command: string[], name: string) => {
    const r = await ssh(key, command);
    return { status: r.status, text: r.stderr.replaceAll(name, 'NAME').trim() };
  };

  before(async () => {
    admin = lab.key('admin');
    alice = lab.key('alice');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    assert.equal((await ssh(admin, ['user', 'add', 'alice', '--role', 'operator', '--key', `'${lab.publicKey(alice)}'`])).status, 0);
    assert.equal((await ssh(admin, ['repo', 'create', 'secret-plans', '--private'])).status, 0);
    assert.equal((await ssh(admin, ['repo', 'create', 'open-plans'])).status, 0);
    assert.equal((await ssh(alice, ['repo', 'create', 'mine'])).status, 0);
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('create, rename and import answer the same for a private name as for a public one, and never "exists"', async () => {
    const info = await ssh(alice, ['repo', 'info', 'secret-plans']);
    assert.equal(info.status, 4);
    assert.match(info.stderr, /no repository 'secret-plans'/);

    const probes: [string, (n: string) => string[]][] = [
      ['create', (n) => ['repo', 'create', n]],
      ['rename', (n) => ['repo', 'rename', 'mine', n]],
      ['import', (n) => ['repo', 'import', n, 'https://example.invalid/x.git']],
    ];
    for (const [what, command] of probes) {
      const hidden = await answer(alice, command('secret-plans'), 'secret-plans');
      const visible = await answer(alice, command('open-plans'), 'open-plans');
      assert.deepEqual(hidden, visible, `${what}: a private name answers as a public one does`);
      assert.notEqual(hidden.status, 0, what);
      assert.doesNotMatch(hidden.text, /exist/i, what);
      assert.match(hidden.text, /repository name 'NAME' is not available/, what);
    }
    // Nothing moved: alice's repository kept its name, the admin's is untouched.
    assert.equal((await ssh(alice, ['repo', 'info', 'mine'])).status, 0);
    assert.equal((await ssh(admin, ['repo', 'info', 'secret-plans', '--json'])).status, 0);
  });
});
