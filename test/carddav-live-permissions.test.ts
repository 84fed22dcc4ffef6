/**
 * Issue #20 item 6: a CardDAV request is a command of the registry (`carddav propfind`, `carddav
 * put`, … on the http surface), so what decides any other command decides it too, at every request:
 * the live permission table (a role that loses `crm`), the account's state (disabled, removed). With
 * a real client (vdirsyncer) and the in-process labd: the same token syncs, is refused on its very
 * next request once the right is gone, and syncs again once it is back; a PUT vdirsyncer makes is
 * audited like a command and counted in /metrics under the registry's `labd_command…` metrics.
 * (test/token-revocation.test.ts covers `user deny` and the raw PUT refusals; this one the sync.)
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { vdirsyncerFor, type Vdirsyncer } from './support/vdirsyncer.ts';

describe('CardDAV goes through the registry: live permissions, audit and metrics of a syncing client', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let erin: string;
  let sync: Vdirsyncer;
  const work = join(lab.dir, 'dav');

  const asAdmin = async (args: string[]) => {
    const r = await labd.ssh(admin, [...args, '--yes']);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  };
  const json = async (key: string, args: string[]) => {
    const r = await labd.ssh(key, [...args, '--json']);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const vdirsyncer = (args: string[], input = '') => sync.run(args, input);
  const syncs = async () => {
    const r = await vdirsyncer(['sync']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  };
  /** vdirsyncer's next sync fails with this HTTP status. */
  const refused = async (status: RegExp) => {
    const r = await vdirsyncer(['sync']);
    assert.notEqual(r.status, 0, `vdirsyncer was not refused: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, status);
  };
  const metrics = async () => (await fetch(`http://127.0.0.1:${labd.httpPort}/metrics`)).text();
  /** `labd_command_duration_seconds_count` of a CardDAV command on the http surface with this outcome (0 when absent). */
  const counted = (text: string, command: string, outcome: string) =>
    Number(new RegExp(`labd_command_duration_seconds_count\\{command="${command}",surface="http",outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  /** Refusals of propfind and report (vdirsyncer's first requests) counted so far. */
  const readRefusals = async () => {
    const text = await metrics();
    return counted(text, 'carddav propfind', 'permission') + counted(text, 'carddav report', 'permission');
  };

  before(async () => {
    admin = lab.key('admin');
    erin = lab.key('erin');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    await asAdmin(['user', 'add', 'erin', '--role', 'member', '--key', `'${lab.publicKey(erin)}'`]);
    const token = (await json(erin, ['token', 'create', '--scope', 'carddav', '--name', 'phone'])).token as string;
    sync = vdirsyncerFor(work, { httpPort: labd.httpPort, user: 'erin', token });
    await json(erin, ['crm', 'add', 'Ada', 'Lovelace']);
    const discover = await vdirsyncer(['discover'], 'y\ny\ny\n');
    assert.equal(discover.status, 0, discover.stdout + discover.stderr);
    await syncs();
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('a card vdirsyncer uploads is a PUT the registry audits (erin, via http, the card) and measures', async () => {
    const before = counted(await metrics(), 'carddav put', 'ok');
    const uid = 'erin-phone-0001';
    writeFileSync(join(sync.localDir, `${uid}.vcf`), `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\nEND:VCARD\r\n`);
    await syncs();
    assert.equal((await json(erin, ['crm', 'show', 'Grace', 'Hopper'])).name, 'Grace Hopper');

    const rows = (await labd.auditRows(admin)).filter((r) => r.command.startsWith('carddav'));
    const put = rows.find((r) => r.command === 'carddav put' && r.outcome === 'ok');
    assert.ok(put, JSON.stringify(rows));
    assert.equal(put.actor, 'erin');
    assert.match(JSON.stringify(put.args), /erin-phone-0001\.vcf/, 'the row names the card');
    assert.ok(!rows.some((r) => /propfind|report|get/.test(r.command)), 'reads are measured, not audited');

    const text = await metrics();
    assert.equal(counted(text, 'carddav put', 'ok'), before + 1, 'one PUT, counted once');
    assert.ok(counted(text, 'carddav report', 'ok') > 0, 'the sync-collection REPORTs are counted like commands');
    assert.ok(counted(text, 'carddav propfind', 'ok') > 0);

    // A protocol command of the http surface: not offered over SSH, and not in help there.
    const ssh = await labd.ssh(erin, ['carddav', 'get']);
    assert.notEqual(ssh.status, 0);
    assert.match(ssh.stderr, /only over HTTP/);
    const help = await labd.ssh(erin, ['help']);
    assert.doesNotMatch(help.stdout, /carddav/);
  });

  test('role revoke member crm: the next sync is refused (403) by the registry; the grant back lets it sync', async () => {
    const before = await readRefusals();
    await asAdmin(['role', 'revoke', 'member', 'crm']);
    await refused(/403/);
    assert.ok((await readRefusals()) > before, 'the refusal was the registry’s: counted as a permission outcome');
    await asAdmin(['role', 'grant', 'member', 'crm']);
    await syncs();
  });

  test('user disable: the next sync is refused (403); enable lets it sync again', async () => {
    await asAdmin(['user', 'disable', 'erin']);
    await refused(/403/);
    await asAdmin(['user', 'enable', 'erin']);
    await syncs();
  });

  test('user rm: the token names nobody any more, the next sync is refused (401)', async () => {
    await asAdmin(['user', 'rm', 'erin']);
    await refused(/401/);
  });
});
