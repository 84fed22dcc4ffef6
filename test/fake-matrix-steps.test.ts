/**
 * The by-hand Matrix path: `npm run fake-matrix` prints numbered steps, and doing them in order
 * works: labd starts with the printed settings, the printed `user add` maps the Matrix user to a
 * labd user, and the printed curl (run twice, as a person would) sends two messages the bot answers.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { freePort, KeyLab, LabdProcess, ROOT, run } from './support/labd.ts';
import { until } from './support/wait.ts';

describe('npm run fake-matrix: the printed steps, in order', () => {
  const lab = new KeyLab();
  let fake: ChildProcess;
  let out = '';
  let labd: LabdProcess | undefined;

  before(async () => {
    fake = spawn('npm', ['run', '--silent', 'fake-matrix', '--', '--port', String(await freePort())], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    fake.stdout!.on('data', (d) => (out += d));
    await until('the printed steps', () => /^4\. /m.test(out) && /sync\?timeout=0'\s*$/.test(out));
  });
  after(async () => {
    await labd?.stop();
    fake?.kill('SIGTERM');
    lab.cleanup();
  });

  const step = (n: number) => {
    const m = new RegExp(`^${n}\\. .*\\n((?:   .*\\n)+)`, 'm').exec(out);
    assert.ok(m, `step ${n} in:\n${out}`);
    return m[1]!
      .split('\n')
      .filter(Boolean)
      .map((l) => l.trim());
  };

  test('start labd, create the user, send two messages with fresh transaction ids, read both answers', async () => {
    // 1: labd with the printed settings (on this test's ports instead of npm start's defaults).
    const [start] = step(1);
    assert.match(start!, /npm start$/);
    const env = Object.fromEntries([...start!.matchAll(/(LABD_MATRIX_\w+)=('([^']*)'|(\S+))/g)].map((m) => [m[1]!, m[3] ?? m[4]!]));
    assert.deepEqual(Object.keys(env).sort(), ['LABD_MATRIX_HOMESERVER', 'LABD_MATRIX_ROOMS', 'LABD_MATRIX_TOKEN', 'LABD_MATRIX_USERS']);
    assert.match(start!, /LABD_INITIAL_ADMIN_KEYS=/);
    const admin = lab.key('admin');
    labd = await LabdProcess.start({ adminKeys: [lab.publicKey(admin)], env });

    // 2: the user the Matrix user maps to.
    const [add] = step(2);
    const words = /^ssh -p 2222 localhost (.*) < \/dev\/null$/.exec(add!)?.[1]?.split(' ');
    assert.ok(words, add);
    const created = labd.ssh(admin, words);
    assert.equal(created.status, 0, created.stderr);

    // 3, twice: each run gets its own transaction id, so the homeserver stores two events.
    const [send] = step(3);
    // The room id starts with '!': an interactive bash would expand it inside double quotes.
    assert.match(send!, /'http:\/\/[^']*\/rooms\/![^']*'"txn-\$\(date \+%s%N\)"$/);
    const sent = [run('bash', ['-c', send!]), run('bash', ['-c', send!])].map((r) => {
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as { event_id: string }).event_id;
    });
    assert.notEqual(sent[0], sent[1]);

    // 4: both answered, as the mapped labd user.
    const [read] = step(4);
    await until('two answers from the bot', () => {
      const sync = run('bash', ['-c', read!]).stdout;
      const answers = [...sync.matchAll(/"body":"user: alice\\nrole: admin/g)];
      return answers.length >= 2;
    });
  });
});
