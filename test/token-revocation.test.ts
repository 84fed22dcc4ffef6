/**
 * Issue #24 item 2: app tokens no longer outlive what their user lost. The attack as it was run:
 * a member's CardDAV and git tokens, then `user deny USER crm`, `role revoke member crm`,
 * `user deny USER git.read`, `user disable USER`, `user rm USER`; after each, the token is used
 * again with real clients (vdirsyncer, git over HTTP, fetch for PUT) and must open nothing, while
 * the same token works again once the right is given back (the check is live, not a revocation).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { GitLab } from './support/git.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { vdirsyncerFor, type Vdirsyncer } from './support/vdirsyncer.ts';

describe('app tokens are checked against the live permissions and account state at every request', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let git: GitLab;
  let admin: string;
  let dora: string;
  let davToken: string;
  let gitToken: string;
  const work = join(lab.dir, 'dav');

  const ssh = (key: string, args: string[]) => labd.ssh(key, args);
  const asAdmin = async (args: string[]) => {
    const r = await ssh(admin, [...args, '--yes']);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  };
  const json = async (key: string, args: string[]) => {
    const r = await ssh(key, [...args, '--json']);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  let sync: Vdirsyncer;
  const vdirsyncer = (args: string[], input = '') => sync.run(args, input);
  const davUrl = (path = '') => `http://127.0.0.1:${labd.httpPort}/dav/dora/contacts/${path}`;
  const basic = (user: string, token: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}` });
  const davGet = () => fetch(davUrl(), { method: 'PROPFIND', headers: { ...basic('dora', davToken), depth: '1' } });
  const putCard = (uid: string) =>
    fetch(davUrl(`${uid}.vcf`), {
      method: 'PUT',
      headers: { ...basic('dora', davToken), 'content-type': 'text/vcard' },
      body: `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:Card ${uid}\r\nN:${uid};Card;;;\r\nEND:VCARD\r\n`,
    });
  const httpUrl = (auth = '') => `http://${auth}127.0.0.1:${labd.httpPort}/git/vault.git`;
  const cloneWithToken = (dir: string) => git.gitAsync(undefined, ['clone', '-q', httpUrl(`dora:${gitToken}@`), git.path(dir)]);
  const infoRefs = () => fetch(`${httpUrl()}/info/refs?service=git-upload-pack`, { headers: { authorization: `Bearer ${gitToken}` } });
  const rawFile = () => fetch(`http://127.0.0.1:${labd.httpPort}/git/vault/-/raw?path=plan.txt`, { headers: { authorization: `Bearer ${gitToken}` } });

  before(async () => {
    admin = lab.key('admin');
    dora = lab.key('dora');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    git = new GitLab(labd);
    await asAdmin(['user', 'add', 'dora', '--role', 'member', '--key', `'${lab.publicKey(dora)}'`]);
    // A private repository dora may read as a collaborator.
    await asAdmin(['repo', 'create', 'vault', '--private']);
    const wt = git.workTree({ 'plan.txt': 'secret plan\n' });
    const push = await git.gitAsync(admin, ['push', '-q', git.url('vault'), 'main'], { cwd: wt });
    assert.equal(push.status, 0, push.stderr);
    await asAdmin(['repo', 'collab', 'add', 'vault', 'dora', 'read-only']);
    davToken = (await json(dora, ['token', 'create', '--scope', 'carddav', '--name', 'phone'])).token;
    gitToken = (await json(dora, ['token', 'create', '--scope', 'git', '--name', 'laptop'])).token;
    sync = vdirsyncerFor(work, { httpPort: labd.httpPort, user: 'dora', token: davToken });
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('user deny USER crm: vdirsyncer is refused on its next request, a PUT creates nothing; the grant back opens it again', async () => {
    await json(dora, ['crm', 'add', 'Ada', 'Lovelace']);
    const discover = await vdirsyncer(['discover'], 'y\ny\ny\n');
    assert.equal(discover.status, 0, discover.stdout + discover.stderr);
    const first = await vdirsyncer(['sync']);
    assert.equal(first.status, 0, first.stdout + first.stderr);

    await asAdmin(['user', 'deny', 'dora', 'crm']);
    const refused = await vdirsyncer(['sync']);
    assert.notEqual(refused.status, 0, 'vdirsyncer is refused');
    assert.match(refused.stdout + refused.stderr, /403/);
    assert.equal((await davGet()).status, 403);
    const put = await putCard('after-deny');
    assert.equal(put.status, 403);
    assert.match(await put.text(), /needs crm/);

    await asAdmin(['user', 'clear', 'dora', 'crm']);
    const again = await vdirsyncer(['sync']);
    assert.equal(again.status, 0, again.stdout + again.stderr);
    const names = (await json(dora, ['crm', 'ls'])).map((c: { name: string }) => c.name);
    assert.ok(!names.some((n: string) => n.includes('after-deny')), `the refused PUT wrote nothing: ${names.join(', ')}`);

    // The refused write is audited like a refused command, with the user it was refused to.
    const rows = await labd.auditRows(admin);
    assert.ok(
      rows.some((r) => r.command === 'carddav put' && r.outcome === 'permission' && r.actor === 'dora'),
      JSON.stringify(rows.filter((r) => r.command.startsWith('carddav'))),
    );
    // And measured like a command, per method and outcome.
    const metrics = await (await fetch(`http://127.0.0.1:${labd.httpPort}/metrics`)).text();
    assert.match(metrics, /labd_command_duration_seconds_count\{[^}]*command="carddav put"[^}]*outcome="permission"[^}]*\} [1-9]/);
    assert.match(metrics, /labd_command_duration_seconds_count\{[^}]*command="carddav propfind"[^}]*outcome="ok"[^}]*\} [1-9]/);
  });

  test('role revoke member crm: the token of every member stops opening the book', async () => {
    assert.equal((await davGet()).status, 207);
    await asAdmin(['role', 'revoke', 'member', 'crm']);
    assert.equal((await davGet()).status, 403);
    assert.equal((await putCard('after-role-revoke')).status, 403);
    await asAdmin(['role', 'grant', 'member', 'crm']);
    assert.equal((await davGet()).status, 207);
  });

  test('user deny USER git.read: git clone over HTTP with the git token is refused', async () => {
    const before = await cloneWithToken('clone-before');
    assert.equal(before.status, 0, before.stderr);
    await asAdmin(['user', 'deny', 'dora', 'git.read']);
    const clone = await cloneWithToken('clone-denied');
    assert.notEqual(clone.status, 0);
    assert.match(clone.stderr, /403/);
    assert.equal((await infoRefs()).status, 403);
    assert.notEqual((await rawFile()).status, 200);
    await asAdmin(['user', 'clear', 'dora', 'git.read']);
    assert.equal((await infoRefs()).status, 200);
  });

  test('user disable USER: CardDAV and git refuse both tokens; enable opens them again', async () => {
    const raw = await rawFile();
    assert.equal(raw.status, 200);
    assert.equal(await raw.text(), 'secret plan\n');
    await asAdmin(['user', 'disable', 'dora']);
    assert.equal((await davGet()).status, 403);
    const put = await putCard('while-disabled');
    assert.equal(put.status, 403);
    assert.match(await put.text(), /disabled/);
    const clone = await cloneWithToken('clone-disabled');
    assert.notEqual(clone.status, 0);
    assert.equal((await infoRefs()).status, 403);
    assert.equal((await rawFile()).status, 403);
    await asAdmin(['user', 'enable', 'dora']);
    assert.equal((await davGet()).status, 207);
    assert.equal((await infoRefs()).status, 200);
  });

  test('user rm USER: both tokens open nothing', async () => {
    await asAdmin(['user', 'rm', 'dora']);
    assert.equal((await davGet()).status, 401);
    assert.equal((await putCard('after-rm')).status, 401);
    assert.equal((await infoRefs()).status, 401);
    const clone = await cloneWithToken('clone-removed');
    assert.notEqual(clone.status, 0);
  });
});
