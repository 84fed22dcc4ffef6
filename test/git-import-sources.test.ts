/**
 * Issue #24 item 11: `repo import` is no port scanner. By default a URL whose host is (or resolves
 * to) an internal address is refused before git runs, the same for an open and a closed port;
 * where an admin allowed a source (git.importAllow), every failed fetch gives the same generic
 * error (git's words go to the log), and a real import still works, pinned to the checked address.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { ImportSources } from '../src/apps/git/import-source.ts';
import { GitLab } from './support/git.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

describe('repo import sources', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let git: GitLab;
  let admin: string;
  let alice: string; // operator: git.write, not an admin
  let web: Server; // an open port that is no git server
  let openPort: number;
  let closedPort: number;

  before(async () => {
    admin = lab.key('admin');
    alice = lab.key('alice');
    web = createServer((_req, res) => res.writeHead(404).end('nothing here\n'));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    openPort = (web.address() as AddressInfo).port;
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    // 127.0.0.1 stays refused (the default); the name localhost is allowed, as an admin would allow an internal forge.
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_GIT_ANON_ACCESS: 'read-only', LABD_GIT_IMPORT_ALLOW: 'localhost' } });
    git = new GitLab(labd);
    assert.equal((await labd.ssh(admin, ['user', 'add', 'alice', '--role', 'operator', '--key', `'${lab.publicKey(alice)}'`])).status, 0);
  });
  after(async () => {
    await labd?.stop();
    web?.close();
    lab.cleanup();
  });

  const importFrom = async (name: string, url: string) => {
    const r = await labd.ssh(alice, ['repo', 'import', name, url]);
    return { status: r.status, text: r.stderr.replaceAll(url, 'URL').trim() };
  };

  test('by default, an internal address is refused before any fetch: open and closed ports answer the same', async () => {
    const open = await importFrom('scan-open', `http://127.0.0.1:${openPort}/x.git`);
    const closed = await importFrom('scan-closed', `http://127.0.0.1:${closedPort}/x.git`);
    console.log(`open port: ${JSON.stringify(open)}\nclosed port: ${JSON.stringify(closed)}`);
    assert.deepEqual(open, closed);
    assert.equal(open.status, 3);
    assert.match(open.text, /labd does not fetch from internal addresses/);
    for (const url of [`http://[::1]:${openPort}/x.git`, `git://127.0.0.1:${openPort}/x.git`, `https://10.1.2.3/x.git`, `ssh://169.254.169.254/x.git`]) {
      const r = await importFrom('scan', url);
      assert.equal(r.status, 3, `${url}: ${r.text}`);
    }
    // A name that resolves to loopback (not the allowed 'localhost' as written) answers as a name that does not resolve.
    const inside = await importFrom('scan', `http://localhost.:${openPort}/x.git`);
    const nowhere = await importFrom('scan', `http://no-such-host.invalid:${openPort}/x.git`);
    assert.deepEqual(inside, nowhere);
    assert.match(inside.text, /could not fetch a git repository from URL/);
    assert.equal((await labd.ssh(alice, ['repo', 'ls', '--json'])).stdout.trim(), '[]', 'nothing was left behind');
  });

  test('where a source is allowed, every failure is the same generic error; a real import works', async () => {
    const open = await importFrom('probe', `http://localhost:${openPort}/x.git`);
    const closed = await importFrom('probe', `http://localhost:${closedPort}/x.git`);
    const noName = await importFrom('probe', 'https://no-such-host.invalid/x.git');
    console.log(`allowed, open port: ${JSON.stringify(open)}\nallowed, closed port: ${JSON.stringify(closed)}`);
    assert.deepEqual(open, closed);
    assert.deepEqual(noName, closed);
    assert.equal(open.status, 1);
    assert.match(open.text, /could not fetch a git repository from URL \(what went wrong is in labd's log\)/);
    assert.doesNotMatch(open.text, /refused|404|not found|resolve/i);

    // labd's own smart HTTP, through the allowed name: the import is pinned, and it works.
    const wt = git.workTree({ 'README.md': '# upstream\n' });
    assert.equal((await labd.ssh(admin, ['repo', 'create', 'upstream'])).status, 0);
    assert.equal((await git.gitAsync(admin, ['push', '-q', git.url('upstream'), 'main'], { cwd: wt })).status, 0);
    const made = await labd.ssh(alice, ['repo', 'import', 'copy', `http://localhost:${labd.httpPort}/git/upstream.git`]);
    assert.equal(made.status, 0, made.stderr);
    const log = await labd.ssh(alice, ['repo', 'log', 'copy', '--json']);
    assert.equal(JSON.parse(log.stdout)[0].subject, 'first');
  });

  test('every address a name resolves to is checked, and git is pinned to them', async () => {
    const sources = new ImportSources({ allowPrivate: false, allow: [] }, async () => ['93.184.215.14', '10.0.0.7']);
    // A name that resolves inside is the generic failure (no map of the internal DNS); an address literal is named.
    await assert.rejects(sources.pin('https://rebind.example/x.git'), /could not fetch a git repository from https:\/\/rebind.example\/x.git/);
    await assert.rejects(sources.pin('https://10.0.0.7/x.git'), /internal addresses/);
    const pinned = new ImportSources({ allowPrivate: false, allow: ['10.0.0.0/8'] }, async () => ['93.184.215.14', '10.0.0.7']);
    assert.deepEqual(await pinned.pin('https://forge.example/x.git'), {
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'http.curloptResolve',
      GIT_CONFIG_VALUE_0: 'forge.example:443:93.184.215.14,10.0.0.7',
      GIT_CONFIG_KEY_1: 'http.followRedirects',
      GIT_CONFIG_VALUE_1: 'false',
    });
    assert.deepEqual(await pinned.pin('git://forge.example/x.git'), {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'url.git://93.184.215.14/x.git.insteadOf',
      GIT_CONFIG_VALUE_0: 'git://forge.example/x.git',
    });
    const mapped = new ImportSources({ allowPrivate: false, allow: [] }, async () => ['::ffff:127.0.0.1']);
    await assert.rejects(mapped.pin('https://sneaky.example/x.git'), /could not fetch/);
    await assert.rejects(mapped.pin('https://[::ffff:127.0.0.1]/x.git'), /internal addresses/);
  });
});
