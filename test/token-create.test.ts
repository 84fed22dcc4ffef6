/**
 * Making app tokens (issue #24): a user may hold at most tokens.maxPerUser of them (item 9: 30 of 30
 * creates went through before), and the clone URL `token create --scope git` prints carries no
 * token (it ended up in shell history and .git/config): git asks for the user name and the token.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { GitLab } from './support/git.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

describe('app tokens: quota and printed use', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let git: GitLab;
  let admin: string;
  let eve: string;

  const ssh = (key: string, args: string[]) => labd.ssh(key, args);
  const json = async (key: string, args: string[]) => {
    const r = await ssh(key, [...args, '--json']);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    admin = lab.key('admin');
    eve = lab.key('eve');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_TOKENS_MAX_PER_USER: '3' } });
    git = new GitLab(labd);
    assert.equal((await ssh(admin, ['user', 'add', 'eve', '--role', 'member', '--key', `'${lab.publicKey(eve)}'`])).status, 0);
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('tokens.maxPerUser: past it token create and repo token create are refused, nothing is stored; a revoked token frees a place', async () => {
    await json(eve, ['token', 'create', '--scope', 'carddav', '--name', 'phone']);
    await json(eve, ['token', 'create', '--scope', 'git', '--name', 'laptop']);
    await json(eve, ['repo', 'token', 'create', 'ci', '--expires', '1s']);
    await new Promise((r) => setTimeout(r, 1100));
    // An expired token still counts: it is listed until it is revoked.
    for (const args of [
      ['token', 'create', '--scope', 'carddav', '--name', 'tablet'],
      ['repo', 'token', 'create', 'desktop'],
    ]) {
      const refused = await ssh(eve, args);
      assert.equal(refused.status, 1, refused.stderr);
      assert.match(refused.stderr, /token quota: you have 3 app tokens, the most one user may keep \(tokens\.maxPerUser\); revoke one first/);
    }
    assert.deepEqual(
      (await json(eve, ['token', 'ls'])).map((t: { name: string }) => t.name),
      ['ci', 'laptop', 'phone'],
    );
    // Others are not limited by eve's tokens.
    await json(admin, ['token', 'create', '--scope', 'git', '--name', 'own']);
    assert.equal((await ssh(eve, ['token', 'rm', 'ci', '--yes'])).status, 0);
    await json(eve, ['token', 'create', '--scope', 'carddav', '--name', 'tablet']);
    assert.equal((await ssh(eve, ['token', 'create', '--scope', 'git', '--name', 'more'])).status, 1);
  });

  test('the printed clone URL carries no token; git asks for the user name and the token, and clones with them', async () => {
    assert.equal((await ssh(admin, ['repo', 'create', 'notes', '--private'])).status, 0);
    const wt = git.workTree({ 'todo.txt': 'water the plants\n' });
    assert.equal((await git.gitAsync(admin, ['push', '-q', git.url('notes'), 'main'], { cwd: wt })).status, 0);
    assert.equal((await ssh(admin, ['repo', 'collab', 'add', 'notes', 'eve', 'read-only'])).status, 0);
    assert.equal((await ssh(eve, ['token', 'rm', 'tablet', '--yes'])).status, 0);

    const text = await ssh(eve, ['repo', 'token', 'create', 'clone']);
    assert.equal(text.status, 0, text.stderr);
    const secret = /labd_git_[A-Za-z0-9_-]{43}/.exec(text.stdout)![0];
    const use = text.stdout.split('\n').find((l) => l.includes('git clone'))!;
    assert.ok(use, text.stdout);
    assert.ok(!use.includes(secret) && !use.includes('@'), `no credentials in the URL: ${use}`);
    assert.match(use, new RegExp(`git clone http://127\\.0\\.0\\.1:${labd.httpPort}/git/NAME\\.git`));
    assert.match(text.stdout, /git asks for a user name \(eve\) and a password \(the token\)/);
    assert.equal(text.stdout.split(secret).length, 2, 'the token is printed once, as the token');

    // What the help says works: git asks (here through GIT_ASKPASS, as a terminal prompt would) and clones.
    const askpass = join(git.dir, 'askpass.sh');
    writeFileSync(askpass, `#!/bin/sh\ncase "$1" in Username*) echo eve ;; *) echo '${secret}' ;; esac\n`);
    chmodSync(askpass, 0o700);
    const url = use
      .replace(/^.*git clone /, '')
      .replace('NAME', 'notes')
      .trim();
    const clone = await git.gitAsync(undefined, ['clone', '-q', url, git.path('eve-notes')], { env: { GIT_ASKPASS: askpass } });
    assert.equal(clone.status, 0, clone.stderr);
    assert.equal(readFileSync(git.path('eve-notes', 'todo.txt'), 'utf8'), 'water the plants\n');
    assert.ok(!readFileSync(git.path('eve-notes', '.git', 'config'), 'utf8').includes(secret), 'the token is not in .git/config');
    const help = await ssh(eve, ['repo', 'token', 'create', '--help']);
    assert.doesNotMatch(help.stdout, /USER:TOKEN@/);
  });
});
