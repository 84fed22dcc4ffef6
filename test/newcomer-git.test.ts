/**
 * Anonymous git and the newcomer path agree (issue 12: a git command never waits on, or is refused
 * for, a sign-up it does not need). Without OIDC, on a lab that signs up by invite, an unknown key
 * that proves possession while an invite is open comes in as a newcomer (it may `join`). Its git
 * fetches run as anonymous, as a keyless client's would; anything else still says how to join; once
 * it joined on the same connection it is its user.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { GitLab } from './support/git.ts';
import { KeyLab, run, runAsync } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { until } from './support/wait.ts';

describe('a newcomer key and anonymous git', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let git: GitLab;
  let admin: string;

  before(async () => {
    admin = lab.key('admin');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_GIT_ANON_ACCESS: 'read-only', LABD_SIGNUP: 'invite' } });
    git = new GitLab(labd);
    assert.equal((await labd.ssh(admin, ['repo', 'create', 'dotfiles'])).status, 0);
    const wt = git.workTree({ 'README.md': '# dotfiles\n' });
    const push = await git.gitAsync(admin, ['push', git.url('dotfiles'), 'main'], { cwd: wt });
    assert.equal(push.status, 0, push.stderr);
    // A private repository: only its collaborators read it, never anonymous.
    assert.equal((await labd.ssh(admin, ['repo', 'create', 'secret', '--private'])).status, 0);
    const pushed = await git.gitAsync(admin, ['push', git.url('secret'), 'main'], { cwd: wt });
    assert.equal(pushed.status, 0, pushed.stderr);
    const invite = await labd.ssh(admin, ['invite', 'create']);
    assert.equal(invite.status, 0, invite.stderr);
  }, 120_000);
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('git clone runs as anonymous; other commands say how to join; a push is refused', async () => {
    const key = lab.key('newcomer');
    const clone = await git.gitAsync(key, ['clone', '-q', git.url('dotfiles'), git.path('newcomer-clone')]);
    assert.equal(clone.status, 0, clone.stderr);
    assert.ok(existsSync(git.path('newcomer-clone', 'README.md')));
    await until('the newcomer login logged', () => /accepted an unknown key as a newcomer/.test(labd.logs()));
    git.commit(git.path('newcomer-clone'), 'x.txt', 'x\n', 'newcomer');
    const push = await git.gitAsync(key, ['push', 'origin', 'main'], { cwd: git.path('newcomer-clone') });
    assert.notEqual(push.status, 0, 'anonymous access is read-only');
    const who = await labd.ssh(key, ['whoami']);
    assert.equal(who.status, 3, who.stderr);
    assert.match(who.stderr, /join/);
  });

  test('once the key joined on its open connection, git runs as its user, not as anonymous', async () => {
    const key = lab.key('joiner');
    const controlPath = join(lab.dir, 'cm-joiner');
    const code = (JSON.parse((await labd.ssh(admin, ['invite', 'create', '--json'])).stdout) as { code: string }).code;
    try {
      assert.equal((await labd.sshShared(key, controlPath, ['help'])).status, 0);
      const joined = await labd.sshShared(key, controlPath, ['join', code, '--name', 'joiner']);
      assert.equal(joined.status, 0, joined.stderr);
      // git's own upload-pack over the same connection reads a private repository of joiner's: as joiner, not anonymous.
      assert.equal((await labd.ssh(admin, ['repo', 'collab', 'add', 'secret', 'joiner'])).status, 0);
      const refs = await labd.sshShared(key, controlPath, ['git-upload-pack', "'secret.git'"]);
      // It advertises the refs, then sees stdin end (no fetch follows): git says the remote hung up.
      assert.match(refs.stdout, /refs\/heads\/main/, refs.stderr);
    } finally {
      await runAsync('ssh', ['-O', 'exit', '-o', `ControlPath=${controlPath}`, '-p', String(labd.sshPort), 'labd@127.0.0.1']);
    }
  });
});
