/**
 * git over HTTP and the web view when reading without an account is closed, the default (issue #23
 * point 4): the list says so and how it opens; a closed (or private, or missing) repository answers
 * 401 with a Basic challenge, so the real git client asks for a user name and token (here through
 * GIT_ASKPASS) and a browser would too; with a token the page shows the files of a repository that
 * has no README. `repo tree REPO FILE` shows that file's entry, as `ls FILE` does.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { GitLab } from './support/git.ts';
import { KeyLab, runAsync } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

describe('closed by default, and saying so', () => {
  const lab = new KeyLab();
  const admin = lab.key('admin');
  let labd: InProcessLabd;
  let git: GitLab;
  let token: string;
  let web: string;

  before(async () => {
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    git = new GitLab(labd);
    assert.equal((await labd.ssh(admin, ['repo', 'create', 'dotfiles'])).status, 0);
    const wt = git.workTree({ 'zsh/zshrc': 'export EDITOR=vi\n', vimrc: 'set nu\n' });
    const push = await git.gitAsync(admin, ['push', git.url('dotfiles'), 'main'], { cwd: wt });
    assert.equal(push.status, 0, push.stderr);
    const made = await labd.ssh(admin, ['repo', 'token', 'create', 'web', '--json']);
    assert.equal(made.status, 0, made.stderr);
    token = (JSON.parse(made.stdout) as { token: string }).token;
    web = `http://127.0.0.1:${labd.httpPort}/git`;
  }, 60_000);
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  const basic = () => ({ authorization: `Basic ${Buffer.from(`admin:${token}`).toString('base64')}` });

  test('the list says reading is closed and how it opens; a repository page asks for credentials', async () => {
    const list = await fetch(`${web}/`);
    assert.equal(list.status, 200);
    const text = await list.text();
    assert.match(text, /closed on this lab \(<code>git\.anonAccess: no-access<\/code>/);
    assert.match(text, /LABD_GIT_ANON_ACCESS=read-only/);
    assert.match(text, /<a href="\/git\/\?login">Log in<\/a>/);
    assert.match(text, /repo token create NAME/);

    for (const path of ['/dotfiles', '/dotfiles/-/tree?ref=main', '/nothing-here', '/?login']) {
      const page = await fetch(`${web}${path}`);
      assert.equal(page.status, 401, path);
      assert.match(page.headers.get('www-authenticate') ?? '', /^Basic realm="labd git"/, path);
      const body = await page.text();
      assert.match(body, /user name and an app token/, path);
      assert.match(body, /git\.anonAccess: no-access/, path);
    }
    // curl sees the same challenge.
    const curl = await runAsync('curl', ['-si', `${web}/dotfiles`]);
    assert.match(curl.stdout, /^HTTP\/1\.1 401/);
    assert.match(curl.stdout, /^www-authenticate: Basic realm="labd git"/im);
  });

  test('with a token: the repository without a README shows its files; the list shows it without the note', async () => {
    const page = await fetch(`${web}/dotfiles`, { headers: basic() });
    assert.equal(page.status, 200);
    const body = await page.text();
    assert.match(body, /No README; the files on main:/);
    assert.match(body, /<a href="\/git\/dotfiles\/-\/tree\?ref=HEAD&amp;path=zsh">zsh\/<\/a>/);
    assert.match(body, /<a href="\/git\/dotfiles\/-\/blob\?ref=HEAD&amp;path=vimrc">vimrc<\/a>/);
    const list = await (await fetch(`${web}/`, { headers: basic() })).text();
    assert.match(list, /href="\/git\/dotfiles"/);
    assert.doesNotMatch(list, /Log in/);
  });

  test('git clone over HTTP asks for a user name and token, and clones with them', async () => {
    const refused = await git.gitAsync(undefined, ['clone', '-q', `${web}/dotfiles.git`, git.path('no-credentials')]);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /could not read Username/, 'git was asked for credentials (401 + Basic)');
    const askpass = join(lab.dir, 'askpass.sh');
    writeFileSync(askpass, `#!/bin/sh\ncase "$1" in Username*) echo admin ;; *) echo '${token}' ;; esac\n`);
    chmodSync(askpass, 0o755);
    const clone = await git.gitAsync(undefined, ['clone', '-q', `${web}/dotfiles.git`, git.path('with-token')], { env: { GIT_ASKPASS: askpass } });
    assert.equal(clone.status, 0, clone.stderr);
    assert.ok(existsSync(git.path('with-token', 'zsh', 'zshrc')));
  });

  test('repo tree REPO FILE shows the file, as ls FILE does', async () => {
    const r = await labd.ssh(admin, ['repo', 'tree', 'dotfiles', 'zsh/zshrc', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const entries = JSON.parse(r.stdout) as { path: string; type: string; size: number }[];
    assert.deepEqual(
      entries.map((e) => [e.path, e.type, e.size]),
      [['zsh/zshrc', 'blob', 17]],
    );
    const text = await labd.ssh(admin, ['repo', 'tree', 'dotfiles', 'vimrc']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /blob\s+7\s+vimrc/);
    const missing = await labd.ssh(admin, ['repo', 'tree', 'dotfiles', 'nope']);
    assert.equal(missing.status, 4, missing.stderr);
  });
});
