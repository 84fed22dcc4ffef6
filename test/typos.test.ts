/**
 * Issue 23, point 10: typos get an answer. A mistyped command names the command it was probably
 * meant to be; `paste lss` (which makes a paste named lss from stdin) says on stderr what it waits
 * for instead of hanging silently; a refusal that comes from a per-user deny names the deny, not
 * the role, which holds the permission. All with the real OpenSSH client.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { until } from './support/wait.ts';

describe('typos and refusals say what happened', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let alice: string;

  before(async () => {
    admin = lab.key('admin');
    alice = lab.key('alice');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    assert.equal((await labd.ssh(admin, ['user', 'add', 'alice', '--role', 'member', '--key', `'${lab.publicKey(alice)}'`])).status, 0);
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test("'repo lst' is unknown, and the answer names 'repo ls'", async () => {
    const r = await labd.ssh(alice, ['repo', 'lst']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command 'repo lst' \(did you mean 'repo ls'\?\)/);
    const far = await labd.ssh(alice, ['frobnicate']);
    assert.equal(far.status, 2);
    assert.doesNotMatch(far.stderr, /did you mean/, 'nothing close: no guess');
  });

  test('a command the user may not run is never suggested', async () => {
    const r = await labd.ssh(alice, ['user', 'lss']);
    assert.equal(r.status, 2);
    assert.doesNotMatch(r.stderr, /'user ls'/, `alice cannot run 'user ls': ${r.stderr}`);
  });

  test("'paste lss' with a terminal on stdin says it is reading stdin, and names 'paste ls'", async () => {
    // stdin stays open and sends nothing, as a terminal would.
    const child = spawn('ssh', [...labd.sshArgs(alice), '--', 'paste', 'lss'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await until('the stdin hint', () => /reading the paste from stdin/.test(stderr) || undefined, { timeoutMs: 30_000, intervalMs: 100 });
      assert.match(stderr, /end it with Ctrl-D.*did you mean 'paste ls'\?/);
      child.stdin.end();
      assert.notEqual(await exited, 0, 'an empty paste is refused');
      assert.match(stderr, /nothing on stdin: nothing was stored/);
    } finally {
      child.kill();
    }
    const ls = await labd.ssh(alice, ['paste', 'ls', '--json']);
    assert.deepEqual(JSON.parse(ls.stdout), [], 'no paste named lss');
  });

  test('input that arrives in time gets no hint', async () => {
    const r = await labd.ssh(alice, ['paste', 'notes.txt'], { input: 'hello\n' });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /reading the paste from stdin/);
  });

  test('a per-user deny is named as such, not blamed on the role', async () => {
    const deny = await labd.ssh(admin, ['user', 'deny', 'alice', 'paste']);
    assert.equal(deny.status, 0, deny.stderr);
    const r = await labd.ssh(alice, ['paste', 'ls']);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /'paste ls' needs paste, which is denied to your account \(user deny\)/);
    assert.doesNotMatch(r.stderr, /you are member/);
  });
});
