/**
 * Sessions end with their credentials: a connection that logged in with a certificate is closed
 * when the certificate's valid-before passes, exec commands and TUI alike, each told why; the TUI
 * warns in the last minute. Real OpenSSH client, short-lived certificates from `ssh-keygen -s -V`,
 * tmux for the TUI.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { certFor, logMark, logSince } from './support/auth-lab.ts';
import { KeyLab, LabdProcess } from './support/labd.ts';
import { TmuxTerminal } from './support/tmux.ts';

interface AuditRow {
  actor: string;
  command: string;
  args: string;
  outcome: string;
  credential: string | null;
}

describe('sessions end with their certificate', () => {
  const lab = new KeyLab();
  let labd: LabdProcess;
  let ca: string;
  let admin: string;
  const terminals: TmuxTerminal[] = [];

  before(async () => {
    ca = lab.key('expiry-ca');
    admin = lab.key('expiry-admin');
    labd = await LabdProcess.start({ caKeys: [`${ca}.pub`], adminKeys: [lab.publicKey(admin)] });
  });
  after(async () => {
    for (const t of terminals) t.kill();
    await labd?.stop();
    lab.cleanup();
  });

  const auditRows = (): AuditRow[] => {
    const r = labd.ssh(admin, ['audit', '--json']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as AuditRow[];
  };

  // The two expiry tests wait for their certificates side by side (each finds its own log line and audit row).
  test.concurrent('an exec command outliving its certificate is warned, then closed with the reason; the closing is logged and audited', async () => {
    // Valid for 8 more seconds: less than the warning minute, so the warning comes at once.
    const k = certFor(lab, ca, { principals: ['shorty'], id: 'shorty@example.com', serial: 7001, validity: '-1m:+8s' });
    const mark = logMark(labd);
    const sub = labd.sshStart(k.key, ['sub', 'forever'], { cert: k.cert });
    const r = await sub.done;
    assert.match(r.stderr, /labd: your certificate expires at \d\d:\d\d:\d\d UTC: this session closes then/);
    assert.match(r.stderr, /labd: your certificate expired at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: session closed; log in again with a fresh one/);
    assert.notEqual(r.status, 0);
    const line = await logSince(
      labd,
      mark,
      /closing a connection: its certificate expired.*"user":"shorty"|"user":"shorty".*closing a connection: its certificate expired/,
    );
    assert.match(line, /"user":"shorty"/);
    const row = auditRows().find((a) => a.command === 'session expire' && a.actor === 'shorty');
    assert.ok(row, 'the closing is in the audit log');
    assert.equal(row.outcome, 'ok');
    assert.match(row.credential ?? '', /key-id=shorty@example.com serial=7001/);
    assert.equal(JSON.parse(row.args).credential, 'certificate');
  });

  test.concurrent('the TUI shows the warning on its status line, then restores the terminal and says why it closed', async () => {
    // 12 s: time for the TUI to come up and show the warning before the certificate expires.
    const k = certFor(lab, ca, { principals: ['tuishort'], id: 'tuishort@example.com', serial: 7002, validity: '-1m:+12s' });
    const mark = logMark(labd);
    // The shell stays after ssh ends, so the screen is read as the user sees it (a dead pane loses it).
    const ssh = ['ssh', ...labd.sshArgs(k.key, { tty: true, extra: ['-o', `CertificateFile=${k.cert}`] })].map((w) => `'${w}'`).join(' ');
    const t = TmuxTerminal.start(['sh', '-c', `${ssh}; echo "ssh exited $?"; exec sleep 600`], { cols: 120, env: { LANG: 'C.UTF-8' } });
    terminals.push(t);
    // Home screen, and the warning in the footer (less than a minute is left).
    await t.waitFor(/tuishort \(member\)/, 'the home screen');
    await t.waitFor(/! your certificate expires at \d\d:\d\d:\d\d UTC: this session closes then/, 'the expiry warning');
    const lines = (await t.waitFor(/ssh exited \d+/, 'ssh to end')).join('\n');
    assert.match(lines, /^your certificate expired at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: session closed; log in again with a fresh one\nssh exited 1$/m);
    assert.doesNotMatch(lines, /tuishort \(member\)/, 'the TUI gave the terminal back (alternate screen left)');
    assert.equal(await t.format('#{alternate_on}'), '0');
    assert.match(
      await logSince(
        labd,
        mark,
        /closing a connection: its certificate expired.*"user":"tuishort"|"user":"tuishort".*closing a connection: its certificate expired/,
      ),
      /"user":"tuishort"/,
    );
    assert.ok(auditRows().some((a) => a.command === 'session expire' && a.actor === 'tuishort'));
  });

  test('a session whose certificate has an hour left shows no warning', async () => {
    const k = certFor(lab, ca, { principals: ['longlived'], validity: '-1m:+1h' });
    const t = TmuxTerminal.start(['ssh', ...labd.sshArgs(k.key, { tty: true, extra: ['-o', `CertificateFile=${k.cert}`] })], { env: { LANG: 'C.UTF-8' } });
    terminals.push(t);
    await t.waitFor(/longlived \(member\)/, 'the home screen');
    assert.doesNotMatch(await t.text(), /expires at/);
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });
});
