/**
 * Another user's bytes never drive your terminal: `paste cat` on a pty (real OpenSSH with -tt) strips
 * escape sequences unless --raw, and `--json` escapes the C1 controls JSON.stringify leaves raw.
 * The one terminal sanitiser is also checked on input that arrives in pieces.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { stripControl, TerminalSanitizer } from '../src/core/terminal-text.ts';
import { KeyLab, run, runAsync } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

const HOSTILE = [
  'title \x1b]0;pwned-title\x07after',
  'colour \x1b[31mRED\x1b[0m done',
  'c1-csi \u009b2Jafter-c1',
  'clear \x1b[2J\x1b[Hscreen',
  'dcs \x1bPq#0;2;0;0;0\x1b\\after-dcs',
  'cr-spoof safe\rEVIL',
].join('\n');

describe('terminal safety of other people’s data', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let mallory: string;

  before(async () => {
    admin = lab.key('admin');
    mallory = lab.key('mallory');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    const r = await labd.ssh(admin, ['user', 'add', 'mallory', '--key', `'${lab.publicKey(mallory)}'`]);
    assert.equal(r.status, 0, r.stderr);
    const p = await labd.ssh(mallory, ['paste', 'trap.txt'], { input: HOSTILE + '\n' });
    assert.equal(p.status, 0, p.stderr);
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  const ttyCat = (extra: string[] = []) => runAsync('ssh', [...labd.sshArgs(admin, { tty: true }), '--', 'paste', 'cat', 'mallory/trap.txt', ...extra]);

  test('paste cat on a terminal removes escape sequences and controls; the text stays', async () => {
    const r = await ttyCat();
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdoutBuffer.toString('utf8');
    assert.doesNotMatch(out, /\x1b/, 'no ESC reaches the terminal');
    assert.doesNotMatch(out, /[\u0080-\u009f]/, 'no C1 control reaches the terminal');
    assert.doesNotMatch(out, /pwned-title|#0;2/, 'control strings are removed whole');
    for (const kept of ['title after', 'colour RED done', 'c1-csi after-c1', 'clear screen', 'dcs after-dcs', 'cr-spoof safeEVIL'])
      assert.ok(out.includes(kept), `${kept} in ${JSON.stringify(out)}`);
    assert.match(out, /after\r\ncolour/, 'lines end in CRLF on the raw terminal');
  });

  test('paste cat --raw on a terminal prints the exact bytes; without a terminal the bytes are untouched', async () => {
    const raw = await ttyCat(['--raw']);
    assert.equal(raw.status, 0, raw.stderr);
    assert.ok(raw.stdoutBuffer.includes(Buffer.from('\x1b]0;pwned-title\x07')));
    const piped = await labd.ssh(admin, ['paste', 'cat', 'mallory/trap.txt']);
    assert.equal(piped.status, 0, piped.stderr);
    assert.equal(piped.stdout, HOSTILE + '\n');
  });

  test('--json escapes C1 controls (U+0080–U+009F) as well as C0', async () => {
    const r = await labd.ssh(admin, ['paste', 'cat', 'mallory/trap.txt', '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'every control is escaped');
    assert.ok(r.stdout.includes('\\u009b2J'), r.stdout);
    assert.equal((JSON.parse(r.stdout) as { text: string }).text, HOSTILE + '\n', 'the same value');
  });

  test('the sanitiser removes a sequence split across pieces, and a string ended by ST or cut by ESC', async () => {
    const s = new TerminalSanitizer();
    const pieces = [
      'a\x1b',
      '[3',
      '1mb\x1b]0;ti',
      'tle\x1b',
      '\\c',
      Buffer.from('\u009b').subarray(0, 1),
      Buffer.concat([Buffer.from('\u009b').subarray(1), Buffer.from('1md')]),
    ];
    assert.equal(pieces.map((p) => s.push(p)).join('') + s.end(), 'abcd');
    assert.equal(stripControl('x\x1b]0;unterminated\x1b[31my'), 'xy');
    assert.equal(stripControl('tab\there\nnext\x7f\x00'), 'tab\there\nnext');
    assert.equal(stripControl('\x1b(Bcharset \x1b7saved'), 'charset saved');
  });
});
