/**
 * Role changes reach open connections (issue 10 item 6): with a real OpenSSH ControlMaster, new
 * sessions on an already-open connection run as the store says now. A demoted admin loses admin
 * commands at once; a removed user's commands are refused and the connection is closed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { certFor, type KeyAndCert } from './support/auth-lab.ts';
import { KeyLab, type SshResult } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { until } from './support/wait.ts';

describe('role changes reach connections that are already open (OpenSSH ControlMaster)', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let ca: string;
  const controlPaths: string[] = [];

  /** ssh through a shared master connection (see InProcessLabd.sshShared). */
  const muxSsh = (k: KeyAndCert, controlPath: string, command: string[], user = 'labd'): Promise<SshResult> =>
    labd.sshShared(k.key, controlPath, command, { cert: k.cert, user });

  /** `ssh -O check`: whether the master connection is still up. */
  const masterUp = (k: KeyAndCert, controlPath: string): Promise<boolean> =>
    new Promise((resolve) => {
      const child = spawn('ssh', ['-O', 'check', '-o', `ControlPath=${controlPath}`, '-p', String(labd.sshPort), 'labd@127.0.0.1'], { stdio: 'ignore' });
      child.on('exit', (code) => resolve(code === 0));
    });
  const stopMaster = (controlPath: string): Promise<void> =>
    new Promise((resolve) => {
      const child = spawn('ssh', ['-O', 'exit', '-o', `ControlPath=${controlPath}`, '-p', String(labd.sshPort), 'labd@127.0.0.1'], { stdio: 'ignore' });
      child.on('exit', () => resolve());
    });

  before(async () => {
    ca = lab.key('ca');
    admin = lab.key('admin');
    labd = await InProcessLabd.start({ caKeys: [`${ca}.pub`], adminKeys: [lab.publicKey(admin)] });
  });
  after(async () => {
    for (const p of controlPaths) await stopMaster(p);
    await labd?.stop();
    lab.cleanup();
  });

  test('a demoted admin loses admin commands on new sessions of the open connection; a removed user is cut off', async () => {
    const ctl = certFor(lab, ca, { principals: ['carla'] });
    const controlPath = join(lab.dir, 'cm-carla');
    controlPaths.push(controlPath);
    // carla signs up, and the admin makes her an admin.
    const first = await muxSsh(ctl, controlPath, ['whoami', '--json']);
    assert.equal(first.status, 0, first.stderr);
    assert.equal((JSON.parse(first.stdout) as { user: string }).user, 'carla');
    assert.ok(await masterUp(ctl, controlPath), 'the master connection persists');
    assert.equal((await labd.ssh(admin, ['user', 'role', 'carla', 'admin'])).status, 0);
    const asAdmin = await muxSsh(ctl, controlPath, ['user', 'ls', '--json']);
    assert.equal(asAdmin.status, 0, asAdmin.stderr);

    // Demoted to guest: the very next session on the same connection is a guest.
    assert.equal((await labd.ssh(admin, ['user', 'role', 'carla', 'guest'])).status, 0);
    assert.ok(await masterUp(ctl, controlPath), 'still the same connection');
    const demoted = await muxSsh(ctl, controlPath, ['user', 'ls']);
    assert.equal(demoted.status, 3, demoted.stderr);
    assert.match(demoted.stderr, /needs admin\.users \(you are guest\)/);
    const who = await muxSsh(ctl, controlPath, ['whoami', '--json']);
    assert.equal((JSON.parse(who.stdout) as { role: string }).role, 'guest');

    // Removed: her connection is closed.
    assert.equal((await labd.ssh(admin, ['user', 'rm', 'carla', '--yes'])).status, 0);
    await until("the removed user's connection is closed", async () => !(await masterUp(ctl, controlPath)));
  });

  test('a session opened before the removal cannot run anything after it', async () => {
    const k = certFor(lab, ca, { principals: ['otto'] });
    const controlPath = join(lab.dir, 'cm-otto');
    controlPaths.push(controlPath);
    const first = await muxSsh(k, controlPath, ['whoami']);
    assert.equal(first.status, 0, first.stderr);
    assert.equal((await labd.ssh(admin, ['user', 'role', 'otto', 'admin'])).status, 0);
    // A long-lived session (sub waits for messages) keeps the connection busy while the user is removed.
    const sub = muxSsh(k, controlPath, ['sub', 'otto-topic']);
    // Opened before the removal: else the removal may close the master first and the sub's ssh open a new one (a new sign-up).
    await until('the sub session is open', async () => {
      const r = await muxSsh(k, controlPath, ['topics', '--json']);
      return (
        r.status === 0 && (JSON.parse(r.stdout) as { topic: string; subscribers: number }[]).some((t) => t.topic.endsWith('otto-topic') && t.subscribers > 0)
      );
    });
    assert.equal((await labd.ssh(admin, ['user', 'rm', 'otto', '--yes'])).status, 0);
    const ended = await sub;
    assert.notEqual(ended.status, 0);
    await until('the connection is closed', async () => !(await masterUp(k, controlPath)));
    // A fresh login with the same certificate signs up anew as a new account, with the default role.
    const again = await labd.ssh(k.key, ['whoami', '--json'], { cert: k.cert });
    assert.equal(again.status, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { role: string }).role, 'member');
  });
});
