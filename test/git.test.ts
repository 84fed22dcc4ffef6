/**
 * The git forge over SSH with the real git client: repositories, access levels (roles,
 * collaborators, visibility, anonymous), the transport (clone, push, protocol v2, exit status),
 * and names that try to leave the repository root.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { Database } from '../src/db/sqlite-driver.ts';
import { renderOpsEvent } from '../src/bot/announce.ts';
import type { StoredOpsEvent } from '../src/ops/events/index.ts';
import { GitLab } from './support/git.ts';
import { KeyLab, run, runAsync } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { until } from './support/wait.ts';

describe('git forge over ssh', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let git: GitLab;
  let admin: string;
  let alice: string; // operator: git.write
  let bob: string; // member: git.read
  let carol: string; // member
  const ssh = (key: string, command: string[], input?: string) => labd.ssh(key, command, { input });
  const json = async (key: string, command: string[]) => {
    const r = await ssh(key, [...command, '--json']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    admin = lab.key('admin');
    alice = lab.key('alice');
    bob = lab.key('bob');
    carol = lab.key('carol');
    labd = await InProcessLabd.start({
      adminKeys: [lab.publicKey(admin)],
      env: { LABD_GIT_ANON_ACCESS: 'read-only', LABD_GIT_HTTP_MAX_BODY: '65536', LABD_GIT_MIRROR_INTERVAL: '1s' },
    });
    git = new GitLab(labd);
    for (const [name, key, role] of [
      ['alice', alice, 'operator'],
      ['bob', bob, 'member'],
      ['carol', carol, 'member'],
    ] as const) {
      const r = await ssh(admin, ['user', 'add', name, '--role', role, '--key', `'${lab.publicKey(key)}'`]);
      assert.equal(r.status, 0, r.stderr);
    }
    const r = await ssh(alice, ['repo', 'create', 'dotfiles', '--description', 'my', 'dotfiles']);
    assert.notEqual(r.status, 0, 'a description of several words needs quoting');
    const ok = await ssh(alice, ['repo', 'create', 'dotfiles', '--description', "'my dotfiles'"]);
    assert.equal(ok.status, 0, ok.stderr);
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('description and project name: anyone who reads shows them, only the repo admin sets them, within their bounds', async () => {
    await ssh(alice, ['repo', 'create', 'notes']);
    assert.equal((await ssh(bob, ['repo', 'description', 'notes'])).stdout.trim(), '(no description)');
    const set = await json(alice, ['repo', 'description', 'notes', 'field', 'notes']);
    assert.deepEqual(set, { name: 'notes', description: 'field notes' });
    assert.equal((await ssh(bob, ['repo', 'description', 'notes'])).stdout.trim(), 'field notes');
    const denied = await ssh(bob, ['repo', 'description', 'notes', 'mine']);
    assert.equal(denied.status, 3, denied.stderr);
    const long = await ssh(alice, ['repo', 'project-name', 'notes', 'x'.repeat(101)]);
    assert.equal(long.status, 2, long.stderr);
    assert.match(long.stderr, /project name: at most 100 characters/);
    assert.deepEqual(await json(alice, ['repo', 'project-name', 'notes', 'Field', 'Notes']), { name: 'notes', projectName: 'Field Notes' });
    assert.equal((await json(bob, ['repo', 'info', 'notes'])).projectName, 'Field Notes');
    assert.equal((await ssh(alice, ['repo', 'rm', 'notes', '--yes'])).status, 0);
  });

  test('create makes a bare repository under the data dir; info and ls show it', async () => {
    assert.ok(existsSync(join(labd.dataDir, 'repos', 'dotfiles.git', 'HEAD')));
    const info = await json(alice, ['repo', 'info', '/dotfiles.git']);
    assert.equal(info.name, 'dotfiles');
    assert.equal(info.description, 'my dotfiles');
    assert.equal(info.access, 'admin');
    assert.equal(info.cloneSsh, `ssh://127.0.0.1:${labd.sshPort}/dotfiles.git`);
    assert.deepEqual(
      (await json(bob, ['repo', 'ls'])).map((r: { name: string; access: string }) => [r.name, r.access]),
      [['dotfiles', 'read-only']],
    );
    const dup = await ssh(alice, ['repo', 'create', 'dotfiles']);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /repository name 'dotfiles' is not available/);
    const member = await ssh(bob, ['repo', 'create', 'mine']);
    assert.equal(member.status, 3, member.stderr);
  });

  test('the writer pushes, a reader clones the same commits, and the read commands show them', async () => {
    const wt = git.workTree({ 'README.md': '# dotfiles\n', 'zsh/zshrc': 'export EDITOR=vi\n' }, 3);
    const push = await git.gitAsync(alice, ['push', git.url('dotfiles.git'), 'main'], { cwd: wt });
    assert.equal(push.status, 0, push.stderr);
    const clone = await git.gitAsync(bob, ['clone', '-q', git.url('dotfiles'), git.path('bob-clone')]);
    assert.equal(clone.status, 0, clone.stderr);
    assert.equal(readFileSync(git.path('bob-clone', 'zsh', 'zshrc'), 'utf8'), 'export EDITOR=vi\n');
    const head = (await git.gitAsync(bob, ['rev-parse', 'HEAD'], { cwd: git.path('bob-clone') })).stdout.trim();
    assert.equal(head, (await git.gitAsync(alice, ['rev-parse', 'HEAD'], { cwd: wt })).stdout.trim());

    // The push is an ops event, as the Matrix events room announces it.
    const db = new Database(join(labd.dataDir, 'labd.db'), { readonly: true });
    const events = db.prepare("select id, kind, data, at from ops_events where kind = 'git.pushed'").all() as {
      id: number;
      kind: string;
      data: string;
      at: number;
    }[];
    db.close();
    assert.equal(events.length, 1);
    const event = { id: events[0]!.id, at: new Date(events[0]!.at), kind: 'git.pushed', ...JSON.parse(events[0]!.data) } as StoredOpsEvent;
    assert.equal(renderOpsEvent(event).text, 'alice pushed 3 commits to dotfiles main');

    const log = await json(bob, ['repo', 'log', 'dotfiles', '-n', '2']);
    assert.deepEqual(
      log.map((c: { subject: string }) => c.subject),
      ['commit 3', 'commit 2'],
    );
    assert.equal(log[0].id, head);
    const tree = await json(bob, ['repo', 'tree', 'dotfiles']);
    assert.deepEqual(
      tree.map((e: { path: string; type: string }) => `${e.type} ${e.path}`),
      ['tree zsh', 'blob README.md', 'blob counter.txt'],
    );
    assert.deepEqual(
      (await json(bob, ['repo', 'tree', 'dotfiles', 'zsh'])).map((e: { path: string }) => e.path),
      ['zsh/zshrc'],
    );
    const blob = await ssh(bob, ['repo', 'blob', 'dotfiles', 'zsh/zshrc']);
    assert.equal(blob.status, 0, blob.stderr);
    assert.equal(blob.stdout, 'export EDITOR=vi\n');
    assert.match((await ssh(bob, ['repo', 'blob', 'dotfiles', 'README.md', '--lines'])).stdout, /^1 {2}# dotfiles$/m);
    assert.deepEqual(
      (await json(bob, ['repo', 'branches', 'dotfiles'])).map((b: { name: string }) => b.name),
      ['main'],
    );
    assert.deepEqual(await json(bob, ['repo', 'tags', 'dotfiles']), []);
    const missing = await ssh(bob, ['repo', 'blob', 'dotfiles', 'nope.txt']);
    assert.equal(missing.status, 4, missing.stderr);
    const badRef = await ssh(bob, ['repo', 'log', 'dotfiles', '--ref', '--output=/tmp/x']);
    assert.equal(badRef.status, 2, badRef.stderr);
  });

  test('a reader cannot push; a read-write collaborator can; a no-access entry denies even a public repo', async () => {
    const wt = git.path('bob-clone');
    git.commit(wt, 'bob.txt', 'hi\n', 'from bob');
    const refused = await git.gitAsync(bob, ['push', 'origin', 'main'], { cwd: wt });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /permission denied: 'dotfiles' needs read-write \(you have read-only\)/);

    assert.equal((await ssh(bob, ['repo', 'collab', 'add', 'dotfiles', 'carol'])).status, 3, 'only repo admins manage collaborators');
    const add = await ssh(alice, ['repo', 'collab', 'add', 'dotfiles', 'bob', 'read-write']);
    assert.equal(add.status, 0, add.stderr);
    const pushed = await git.gitAsync(bob, ['push', 'origin', 'main'], { cwd: wt });
    assert.equal(pushed.status, 0, pushed.stderr);
    assert.equal((await json(alice, ['repo', 'log', 'dotfiles', '-n', '1']))[0].subject, 'from bob');

    assert.equal((await ssh(alice, ['repo', 'collab', 'add', 'dotfiles', 'carol', 'no-access'])).status, 0);
    assert.deepEqual(await json(alice, ['repo', 'collab', 'ls', 'dotfiles']), [
      { user: 'alice', level: 'admin' },
      { user: 'bob', level: 'read-write' },
      { user: 'carol', level: 'no-access' },
    ]);
    const denied = await git.gitAsync(carol, ['ls-remote', git.url('dotfiles')]);
    assert.notEqual(denied.status, 0);
    assert.match(denied.stderr, /no repository 'dotfiles'/);
    assert.deepEqual(await json(carol, ['repo', 'ls']), []);
    assert.equal((await ssh(alice, ['repo', 'collab', 'rm', 'dotfiles', 'carol'])).status, 0);
    assert.equal((await git.gitAsync(carol, ['ls-remote', git.url('dotfiles')])).status, 0);
  });

  test('a private repository is invisible to those who cannot read it: ls, info, clone, anonymous', async () => {
    assert.equal((await ssh(alice, ['repo', 'create', 'secret', '--private'])).status, 0);
    const wt = git.workTree({ 'plan.txt': 'secret plan\n' });
    assert.equal((await git.gitAsync(alice, ['push', git.url('secret'), 'main'], { cwd: wt })).status, 0);
    assert.deepEqual(
      (await json(bob, ['repo', 'ls'])).map((r: { name: string }) => r.name),
      ['dotfiles'],
    );
    const info = await ssh(bob, ['repo', 'info', 'secret']);
    const none = await ssh(bob, ['repo', 'info', 'no-such-repo']);
    assert.equal(info.status, 4);
    assert.equal(info.stderr.replace('secret', 'X'), none.stderr.replace('no-such-repo', 'X'), 'private and missing look the same');
    const clone = await git.gitAsync(bob, ['clone', '-q', git.url('secret'), git.path('bob-secret')]);
    assert.notEqual(clone.status, 0);
    assert.match(clone.stderr, /no repository 'secret'/);
    assert.equal((await git.gitAsync(undefined, ['ls-remote', git.url('secret')])).status !== 0, true);
    // Made public, bob reads it; a collaborator entry lets him read it again once private.
    assert.equal((await ssh(alice, ['repo', 'private', 'secret', 'false'])).status, 0);
    assert.equal((await git.gitAsync(bob, ['ls-remote', git.url('secret')])).status, 0);
    assert.equal((await ssh(alice, ['repo', 'private', 'secret', 'true'])).status, 0);
    assert.equal((await ssh(alice, ['repo', 'collab', 'add', 'secret', 'bob', 'read-only'])).status, 0);
    assert.equal((await git.gitAsync(bob, ['ls-remote', git.url('secret')])).status, 0);
    // The admin role reads everything.
    assert.equal((await json(admin, ['repo', 'info', 'secret'])).access, 'admin');
  });

  test('names that leave the repository root are refused before any git process starts', async () => {
    for (const name of ['../etc', 'a/../../b', 'dotfiles.git/inner', 'x.git.git', '//etc/passwd', 'a/b/c', '.git', 'UPPER', 'a b', 'x\u0001y', '-oops']) {
      const r = await ssh(alice, ['git-upload-pack', `'${name}'`]);
      assert.equal(r.status, 2, `${JSON.stringify(name)}: ${r.stderr}`);
      assert.match(r.stderr, /bad repository name|no repository name|unknown flag/);
      const c = await ssh(alice, ['repo', 'create', `'${name}'`]);
      assert.equal(c.status, 2, `${JSON.stringify(name)}: ${c.stderr}`);
    }
    // Nothing was created anywhere but the two repositories made above.
    assert.deepEqual(readdirSync(join(labd.dataDir, 'repos')).sort(), ['dotfiles.git', 'secret.git']);
    const folder = await ssh(alice, ['repo', 'create', 'tools/cli']);
    assert.equal(folder.status, 0, folder.stderr);
    assert.ok(existsSync(join(labd.dataDir, 'repos', 'tools', 'cli.git', 'HEAD')));
    const r = await ssh(alice, ['repo', 'rename', 'tools/cli', 'cli']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!existsSync(join(labd.dataDir, 'repos', 'tools')));
    const rm = await ssh(alice, ['repo', 'rm', 'cli']);
    assert.equal(rm.status, 2, 'destructive: needs --yes');
    assert.equal((await ssh(alice, ['repo', 'rm', 'cli', '--yes'])).status, 0);
    assert.ok(!existsSync(join(labd.dataDir, 'repos', 'cli.git')));
  });

  test('protocol v2 is used when the client asks for it (GIT_PROTOCOL passed through)', async () => {
    const v2 = await git.gitAsync(bob, ['-c', 'protocol.version=2', 'ls-remote', git.url('dotfiles')], { env: { GIT_TRACE_PACKET: '1' } });
    assert.equal(v2.status, 0, v2.stderr);
    assert.match(v2.stderr, /< version 2/);
    const v0 = await git.gitAsync(bob, ['-c', 'protocol.version=0', 'ls-remote', git.url('dotfiles')], { env: { GIT_TRACE_PACKET: '1' } });
    assert.equal(v0.status, 0, v0.stderr);
    assert.doesNotMatch(v0.stderr, /< version 2/);
  });

  test("git's own exit status reaches the client", async () => {
    // upload-pack dies on a malformed pkt-line with status 128, as it would behind sshd.
    const r = await ssh(bob, ['git-upload-pack', 'dotfiles'], 'zzzz-not-a-pkt-line');
    assert.equal(r.status, 128, r.stderr);
    assert.match(r.stderr, /protocol error/);
    const ok = await ssh(bob, ['git-upload-pack', 'dotfiles'], '0000');
    assert.equal(ok.status, 0, ok.stderr);
  });

  test('anonymous: clone of a public repository without a key, nothing else', async () => {
    const clone = await git.gitAsync(undefined, ['clone', '-q', git.url('dotfiles'), git.path('anon-clone')]);
    assert.equal(clone.status, 0, clone.stderr);
    assert.ok(existsSync(git.path('anon-clone', 'README.md')));
    git.commit(git.path('anon-clone'), 'anon.txt', 'x\n', 'anonymous');
    const push = await git.gitAsync(undefined, ['push', 'origin', 'main'], { cwd: git.path('anon-clone') });
    assert.notEqual(push.status, 0);
    assert.match(push.stderr, /without a key only git clone and fetch work/);
    const whoami = await git.gitAsync(undefined, ['ls-remote', git.url('secret')]);
    assert.notEqual(whoami.status, 0);
    const sshArgs = [
      '-F',
      '/dev/null',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=no',
      '-o',
      'PubkeyAuthentication=no',
      '-o',
      'LogLevel=ERROR',
      '-p',
      String(labd.sshPort),
      '-T',
      'labd@127.0.0.1',
    ];
    const cmd = await git.gitAsync(undefined, ['-c', 'alias.x=!ssh', 'x', ...sshArgs, 'whoami']);
    assert.equal(cmd.status, 3, cmd.stderr);
    assert.match(cmd.stderr, /without a key only git clone and fetch work/);
  });

  describe('smart HTTP (read-only)', () => {
    const httpUrl = (name: string, auth = '') => `http://${auth}127.0.0.1:${labd.httpPort}/git/${name}`;

    test('a public repository clones without credentials, with protocol v2 when asked', async () => {
      const clone = await git.gitAsync(undefined, ['clone', '-q', httpUrl('dotfiles.git'), git.path('http-clone')]);
      assert.equal(clone.status, 0, clone.stderr);
      assert.equal(readFileSync(git.path('http-clone', 'zsh', 'zshrc'), 'utf8'), 'export EDITOR=vi\n');
      const v2 = await git.gitAsync(undefined, ['-c', 'protocol.version=2', 'ls-remote', httpUrl('dotfiles')], { env: { GIT_TRACE_PACKET: '1' } });
      assert.equal(v2.status, 0, v2.stderr);
      assert.match(v2.stderr, /< version 2/);
      const v0 = await git.gitAsync(undefined, ['-c', 'protocol.version=0', 'fetch', '-q', httpUrl('dotfiles'), 'main'], { cwd: git.path('http-clone') });
      assert.equal(v0.status, 0, v0.stderr);
    });

    test('a push over HTTP is refused', async () => {
      const push = await git.gitAsync(undefined, ['push', httpUrl('dotfiles.git'), 'main'], { cwd: git.path('http-clone') });
      assert.notEqual(push.status, 0);
      assert.match(push.stderr, /403|not offered/);
    });

    test('a private repository needs a token of a user who may read it; tokens are stored hashed', async () => {
      const anon = await git.gitAsync(undefined, ['ls-remote', httpUrl('secret.git')]);
      assert.notEqual(anon.status, 0);
      assert.doesNotMatch(anon.stderr, /secret plan/);
      const missing = await fetch(httpUrl('no-such.git/info/refs?service=git-upload-pack'));
      const hidden = await fetch(httpUrl('secret.git/info/refs?service=git-upload-pack'));
      assert.equal(hidden.status, 401);
      assert.equal(missing.status, 401, 'a missing and a private repository answer alike');

      const made = await json(bob, ['repo', 'token', 'create', 'laptop']);
      assert.match(made.token, /^labd_git_/);
      const clone = await git.gitAsync(undefined, ['clone', '-q', httpUrl('secret.git', `bob:${made.token}@`), git.path('bob-http-secret')]);
      assert.equal(clone.status, 0, clone.stderr);
      assert.equal(readFileSync(git.path('bob-http-secret', 'plan.txt'), 'utf8'), 'secret plan\n');
      const db = readFileSync(join(labd.dataDir, 'labd.db'));
      assert.ok(!db.includes(Buffer.from(made.token)), 'the token itself is not stored');

      const carolToken = (await json(carol, ['repo', 'token', 'create', 'ci'])).token;
      const carolClone = await fetch(httpUrl('secret.git/info/refs?service=git-upload-pack'), { headers: { authorization: `Bearer ${carolToken}` } });
      assert.equal(carolClone.status, 404);
      const bad = await fetch(httpUrl('dotfiles.git/info/refs?service=git-upload-pack'), { headers: { authorization: 'Bearer labd_git_nope' } });
      assert.equal(bad.status, 401);

      assert.deepEqual(
        (await json(bob, ['repo', 'token', 'ls'])).map((t: { name: string }) => t.name),
        ['laptop'],
      );
      assert.equal((await ssh(bob, ['repo', 'token', 'rm', 'laptop'])).status, 0);
      const revoked = await git.gitAsync(undefined, ['ls-remote', httpUrl('secret.git', `bob:${made.token}@`)]);
      assert.notEqual(revoked.status, 0);

      // One token store: `token create --scope git` makes the same kind of token, with an expiry if asked.
      const brief = await json(bob, ['token', 'create', '--scope', 'git', '--name', 'brief', '--expires', '2s']);
      assert.match(brief.token, /^labd_git_/);
      assert.equal((await git.gitAsync(undefined, ['ls-remote', httpUrl('secret.git', `bob:${brief.token}@`)])).status, 0);
      const listed = (await json(bob, ['token', 'ls', '--scope', 'git'])) as { name: string; scope: string; expires: string }[];
      assert.deepEqual(
        listed.map((t) => [t.name, t.scope]),
        [['brief', 'git']],
      );
      await new Promise((r) => setTimeout(r, 2500));
      assert.notEqual((await git.gitAsync(undefined, ['ls-remote', httpUrl('secret.git', `bob:${brief.token}@`)])).status, 0, 'an expired token opens nothing');
      assert.match((await ssh(bob, ['token', 'ls'])).stdout, /brief\s+git\s+\S+\s+\S+ \(expired\)/);
      // A CardDAV token opens no repository, and a git token no address book.
      const dav = await json(bob, ['token', 'create', '--scope', 'carddav', '--name', 'phone']);
      const davClone = await fetch(httpUrl('secret.git/info/refs?service=git-upload-pack'), { headers: { authorization: `Bearer ${dav.token}` } });
      assert.equal(davClone.status, 401);
      // The scope's permission: a guest (git.read, no crm) may make a git token, not a CardDAV one.
      const gina = lab.key('gina');
      assert.equal((await ssh(admin, ['user', 'add', 'gina', '--role', 'guest', '--key', `'${lab.publicKey(gina)}'`])).status, 0);
      assert.equal((await ssh(gina, ['token', 'create', '--scope', 'git', '--name', 'ro'])).status, 0);
      const refused = await ssh(gina, ['token', 'create', '--scope', 'carddav']);
      assert.equal(refused.status, 3, refused.stderr);
      assert.match(refused.stderr, /a carddav token needs the crm permission/);
    });

    test('request bodies are bounded; names are checked', async () => {
      const big = await fetch(httpUrl('dotfiles.git/git-upload-pack'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-git-upload-pack-request' },
        body: Buffer.alloc(70_000, 0x30),
      });
      assert.equal(big.status, 413);
      const tricks = await fetch(`http://127.0.0.1:${labd.httpPort}/git/..%2F..%2Fetc/info/refs?service=git-upload-pack`);
      assert.equal(tricks.status, 400);
      const deep = await fetch(httpUrl('a/b/c.git/info/refs?service=git-upload-pack'));
      assert.equal(deep.status, 404);
    });
  });

  test('mirrors: import from a local bare repository, sync on demand and on schedule, pushes refused', async () => {
    const source = git.path('source.git');
    assert.equal((await runAsync('git', ['init', '-q', '--bare', '-b', 'main', source])).status, 0);
    const wt = git.workTree({ 'a.txt': 'one\n' });
    assert.equal((await git.gitAsync(undefined, ['push', '-q', source, 'main'], { cwd: wt })).status, 0);

    const notAdmin = await ssh(alice, ['repo', 'import', 'upstream', source, '--mirror']);
    assert.equal(notAdmin.status, 3, 'a path on this host is for admins only');
    assert.match(notAdmin.stderr, /only admins/);
    assert.equal((await ssh(admin, ['repo', 'import', 'evil', "'ext::sh -c touch% /tmp/pwned'"])).status, 2);

    const made = await ssh(admin, ['repo', 'import', 'upstream', source, '--mirror']);
    assert.equal(made.status, 0, made.stderr);
    assert.equal((await json(bob, ['repo', 'info', 'upstream'])).mirror, source);
    assert.equal((await json(bob, ['repo', 'log', 'upstream']))[0].subject, 'first');

    git.commit(wt, 'a.txt', 'two\n', 'second upstream');
    assert.equal((await git.gitAsync(undefined, ['push', '-q', source, 'main'], { cwd: wt })).status, 0);
    const sync = await ssh(admin, ['repo', 'sync', 'upstream']);
    assert.equal(sync.status, 0, sync.stderr);
    assert.equal((await json(bob, ['repo', 'log', 'upstream']))[0].subject, 'second upstream');

    git.commit(wt, 'a.txt', 'three\n', 'third upstream');
    assert.equal((await git.gitAsync(undefined, ['push', '-q', source, 'main'], { cwd: wt })).status, 0);
    await until('the scheduled mirror fetch', async () => (await json(bob, ['repo', 'log', 'upstream']))[0].subject === 'third upstream');

    const clone = await git.gitAsync(admin, ['clone', '-q', git.url('upstream'), git.path('mirror-clone')]);
    assert.equal(clone.status, 0, clone.stderr);
    git.commit(git.path('mirror-clone'), 'b.txt', 'x\n', 'into a mirror');
    const push = await git.gitAsync(admin, ['push', 'origin', 'main'], { cwd: git.path('mirror-clone') });
    assert.notEqual(push.status, 0);
    assert.match(push.stderr, /is a mirror of .*: it takes no pushes/);
  });
});
