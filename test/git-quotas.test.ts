/**
 * Issue #24 item 9 (git): per-user quotas. With the real git client: the N+1th repository is
 * refused, a push larger than git.maxPushBytes is refused, and so is one that would take the
 * owner's repositories past git.quota.bytes; a refused push leaves the repository as it was.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { GitLab } from './support/git.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

const MiB = 1024 * 1024;

describe('git quotas', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let git: GitLab;
  let admin: string;
  let alice: string; // operator: may create repositories and push
  const ssh = (key: string, command: string[]) => labd.ssh(key, command);

  before(async () => {
    admin = lab.key('admin');
    alice = lab.key('alice');
    labd = await InProcessLabd.start({
      adminKeys: [lab.publicKey(admin)],
      env: { LABD_GIT_QUOTA_REPOS: '3', LABD_GIT_QUOTA_BYTES: String(4 * MiB), LABD_GIT_MAX_PUSH_BYTES: String(2 * MiB) },
    });
    git = new GitLab(labd);
    assert.equal((await ssh(admin, ['user', 'add', 'alice', '--role', 'operator', '--key', `'${lab.publicKey(alice)}'`])).status, 0);
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  /** A work tree with one commit of `bytes` random (incompressible) bytes. */
  const heavyTree = (bytes: number) => {
    const wt = git.workTree({ 'README.md': '# heavy\n' });
    writeFileSync(join(wt, 'blob.bin'), randomBytes(bytes));
    git.commit(wt, 'note.txt', `${bytes}\n`, `${bytes} random bytes`);
    return wt;
  };
  const headOf = async (name: string) => (await git.gitAsync(alice, ['ls-remote', git.url(name), 'refs/heads/main'])).stdout.trim();

  test('the fourth repository of a user with git.quota.repos 3 is refused, also by import', async () => {
    for (const name of ['one', 'two', 'three']) assert.equal((await ssh(alice, ['repo', 'create', name])).status, 0, name);
    const fourth = await ssh(alice, ['repo', 'create', 'four']);
    assert.equal(fourth.status, 1, fourth.stderr);
    assert.match(fourth.stderr, /repository quota: you have 3 repositories, the most one user may have \(git\.quota\.repos\)/);
    assert.equal((await ssh(alice, ['repo', 'info', 'four'])).status, 4, 'nothing was made');
    const imported = await ssh(alice, ['repo', 'import', 'four', 'https://example.invalid/x.git']);
    assert.equal(imported.status, 1, imported.stderr);
    assert.match(imported.stderr, /repository quota: you have 3 repositories/);
    // Other users have their own count; removing one frees a place.
    assert.equal((await ssh(admin, ['repo', 'create', 'admins-own'])).status, 0);
    assert.equal((await ssh(alice, ['repo', 'rm', 'three', '--yes'])).status, 0);
    assert.equal((await ssh(alice, ['repo', 'create', 'three'])).status, 0);
  });

  test('a push larger than git.maxPushBytes is refused and leaves the repository as it was', async () => {
    const small = git.workTree({ 'README.md': '# one\n' });
    assert.equal((await git.gitAsync(alice, ['push', '-q', git.url('one'), 'main'], { cwd: small })).status, 0);
    const before = await headOf('one');
    const wt = heavyTree(3 * MiB);
    const push = await git.gitAsync(alice, ['push', '-f', git.url('one'), 'main'], { cwd: wt });
    console.log(`push of 3 MiB with git.maxPushBytes 2 MiB: status ${push.status}\n${push.stderr}`);
    assert.notEqual(push.status, 0);
    assert.match(push.stderr, /pack exceeds maximum allowed size/);
    assert.match(push.stderr, /one push may bring at most 2097152 bytes \(git\.maxPushBytes\)/);
    assert.equal(await headOf('one'), before, 'the ref did not move');
  });

  test("a push that would take the owner's repositories past git.quota.bytes is refused, whoever pushes", async () => {
    for (const name of ['two', 'three']) {
      const push = await git.gitAsync(alice, ['push', '-q', git.url(name), 'main'], { cwd: heavyTree(1.5 * MiB) });
      assert.equal(push.status, 0, `${name}: ${push.stderr}`);
    }
    // About 3 MiB of 4 are taken: 1.5 MiB more does not fit, though under git.maxPushBytes.
    const before = await headOf('one');
    const over = await git.gitAsync(alice, ['push', '-f', git.url('one'), 'main'], { cwd: heavyTree(1.5 * MiB) });
    assert.notEqual(over.status, 0);
    assert.match(over.stderr, /the repositories of one's owner take \d+ of 4194304 bytes \(git\.quota\.bytes\), so this push may bring at most \d+/);
    assert.equal(await headOf('one'), before);

    // The admin pushing into alice's repository fills alice's quota, not the admin's.
    const fill = await git.gitAsync(admin, ['push', '-q', '-f', git.url('one'), 'main'], { cwd: heavyTree(0.9 * MiB) });
    assert.equal(fill.status, 0, fill.stderr);
    const more = await git.gitAsync(alice, ['push', '-f', git.url('two'), 'main'], { cwd: heavyTree(256 * 1024) });
    assert.notEqual(more.status, 0);
    const taken = /take (\d+) of 4194304 bytes \(git\.quota\.bytes\), so this push may bring at most (\d+)/.exec(more.stderr);
    assert.ok(taken, more.stderr);
    assert.ok(Number(taken[1]) > 3.8 * MiB, `the admin's push counted against alice: ${taken[1]} bytes`);
    assert.ok(Number(taken[2]) < 256 * 1024);
  });

  test('an import larger than its allowance is stopped and nothing is kept', async () => {
    const source = heavyTree(3 * MiB);
    const r = await ssh(admin, ['repo', 'import', 'big-import', source]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /import refused: one import may bring at most 2097152 bytes \(git\.maxPushBytes\); nothing was kept/);
    assert.equal((await ssh(admin, ['repo', 'info', 'big-import'])).status, 4);
    assert.ok(!existsSync(join(labd.dataDir, 'repos', 'big-import.git')), 'the partial clone is gone');
    const small = await ssh(admin, ['repo', 'import', 'small-import', git.workTree({ 'a.txt': 'a\n' })]);
    assert.equal(small.status, 0, small.stderr);
  });

  test('a mirror fetch that would bring more than its allowance is stopped and leaves the mirror as it was', async () => {
    const upstream = git.path('upstream.git');
    assert.equal((await git.gitAsync(admin, ['init', '-q', '--bare', upstream])).status, 0);
    const wt = git.workTree({ 'README.md': '# upstream\n' });
    assert.equal((await git.gitAsync(admin, ['push', '-q', upstream, 'main'], { cwd: wt })).status, 0);
    const made = await ssh(admin, ['repo', 'import', 'mirrored', upstream, '--mirror']);
    assert.equal(made.status, 0, made.stderr);
    const before = await headOf('mirrored');

    writeFileSync(join(wt, 'blob.bin'), randomBytes(3 * MiB));
    git.commit(wt, 'note.txt', 'big\n', 'a big file upstream');
    assert.equal((await git.gitAsync(admin, ['push', '-q', upstream, 'main'], { cwd: wt })).status, 0);
    const sync = await ssh(admin, ['repo', 'sync', 'mirrored']);
    assert.equal(sync.status, 1, sync.stderr);
    assert.match(sync.stderr, /mirror fetch stopped: one mirror fetch may bring at most 2097152 bytes \(git\.maxPushBytes\); the mirror is as it was/);
    assert.equal(await headOf('mirrored'), before);
    const packs = readdirSync(join(labd.dataDir, 'repos', 'mirrored.git', 'objects', 'pack'));
    assert.deepEqual(
      packs.filter((f) => f.startsWith('tmp_')),
      [],
      'no half-written pack left',
    );
  });
});
