/**
 * The Seats screen of the TUI through tmux and the real OpenSSH client, against labd wired to the
 * Kubernetes API fake: list, add (config and QR code shown once, decoded with zbar, key checked with
 * wg), remove after a confirmation. Every action is a registry command, audited 'via tui'.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { findResource } from './support/fake-kube/resources.ts';
import { KeyLab } from './support/labd.ts';
import { startKubeLab, type KubeLab } from './support/kube-lab.ts';
import { TmuxTerminal } from './support/tmux.ts';

const PEERS = findResource('kilo.squat.ai', 'v1alpha1', 'peers')!;
const wg = (args: string[], input?: string): string => execFileSync('wg', args, { input, encoding: 'utf8' }).trim();

/** Decodes half-block QR text with zbar: drawn cells are light, blanks dark. */
function decodeQr(lines: string[], file: string): string {
  const rows: boolean[][] = [];
  for (const line of lines) {
    const cells = [...line];
    rows.push(
      cells.map((c) => c === '█' || c === '▀'),
      cells.map((c) => c === '█' || c === '▄'),
    );
  }
  // A wider light margin than the code's own (2 modules) helps zbar find it.
  const margin = 4;
  const width = Math.max(...rows.map((r) => r.length)) + 2 * margin;
  const light = (): boolean[] => Array<boolean>(width).fill(true);
  const padded = [
    ...Array.from({ length: margin }, light),
    ...rows.map((r) => [...Array<boolean>(margin).fill(true), ...r, ...Array<boolean>(width - margin - r.length).fill(true)]),
    ...Array.from({ length: margin }, light),
  ];
  const scale = 6;
  let pbm = `P1\n${width * scale} ${padded.length * scale}\n`;
  for (const row of padded) {
    const pixels = row.flatMap((on) => Array<number>(scale).fill(on ? 0 : 1)).join(' ');
    for (let i = 0; i < scale; i++) pbm += pixels + '\n';
  }
  writeFileSync(file, pbm);
  return execFileSync('zbarimg', ['--quiet', '--raw', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

describe('Seats screen in the TUI', () => {
  const lab = new KeyLab();
  let kube: KubeLab;
  const terminals: TmuxTerminal[] = [];
  const serverPublicKey = wg(['pubkey'], wg(['genkey']) + '\n');

  before(async () => {
    kube = await startKubeLab(lab, {
      env: {
        LABD_SEATS_CIDR: '10.5.0.0/29',
        LABD_SEATS_ENDPOINT: 'lab.example.net:51820',
        LABD_SEATS_SERVER_PUBLIC_KEY: serverPublicKey,
        LABD_SEATS_ALLOWED_IPS: '10.4.0.0/16,10.5.0.0/29',
      },
    });
  });
  after(async () => {
    for (const t of terminals) t.kill();
    await kube?.stop();
    lab.cleanup();
  });

  function tui(key: string): TmuxTerminal {
    const t = TmuxTerminal.start(['ssh', ...kube.labd.sshArgs(key, { tty: true, extra: ['-o', 'SendEnv=LANG'] })], {
      env: { LANG: 'C.UTF-8' },
      term: 'tmux-256color',
      cols: 110,
      rows: 80,
    });
    terminals.push(t);
    return t;
  }

  test('a member has no Seats screen', async () => {
    const t = tui(kube.member);
    const home = await t.waitFor(/Welcome to labd, mia\./);
    assert.ok(!home.some((l) => /^\s+Seats\s/.test(l)), home.join('\n'));
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('add shows the config and QR code once; the list shows the seat; remove after a confirmation', async () => {
    const t = tui(kube.admin);
    const home = await t.waitFor((l) => l.some((x) => /^\s+Seats\s/.test(x)) && /q quit$/.test(l[l.length - 1]!), 'the home menu with Seats');
    const first = home.findIndex((l) => /^\s+Account\s/.test(l));
    const target = home.findIndex((l) => /^\s+Seats\s/.test(l));
    for (let i = first; i < target; i++) t.sendKeys('Down');
    t.sendKeys('Enter');
    await t.waitFor(
      (l) => l.some((x) => /Seats \(0\)/.test(x)) && /a add/.test(l[l.length - 1]!) && /d remove/.test(l[l.length - 1]!),
      'the empty seat list, add and remove offered',
    );

    t.sendKeys('a');
    await t.waitFor(/Name of the new seat/, 'the name prompt');
    t.sendKeys('-l', 'tui-phone');
    t.sendKeys('Enter');
    const qrDrawn = (l: string[]) => {
      const last = l.map((x) => /[█▀▄]/.test(x)).lastIndexOf(true);
      // The whole code: many rows of it, and a blank row under its last one.
      return l.filter((x) => /[█▀▄]/.test(x)).length > 20 && /^│\s*│$/.test(l[last + 1] ?? '');
    };
    const pane = await t.waitFor((l) => l.some((x) => /seat tui-phone: shown once/.test(x)) && qrDrawn(l), 'the config and QR code', { settled: true });
    const text = pane.map((l) => l.replace(/^│/, '').replace(/│$/, ''));
    void text;
    // The config: from its comment line down to the QR code.
    const configStart = text.findIndex((l) => l.startsWith('# labd seat tui-phone'));
    const qrStart = text.findIndex((l) => /[█▀▄]/.test(l));
    const config = text
      .slice(configStart, qrStart)
      .map((l) => l.trimEnd())
      .join('\n')
      .trim();
    const privateKey = /^PrivateKey = (\S+)$/m.exec(config)![1]!;
    const peer = kube.fake.store.get(PEERS, undefined, 'tui-phone')?.spec as { publicKey: string } | undefined;
    assert.equal(peer?.publicKey, wg(['pubkey'], privateKey + '\n'), 'the shown private key belongs to the Peer labd created');
    const qrLines = text.filter((l) => /[█▀▄]/.test(l)).map((l) => l.trimEnd());
    const decoded = decodeQr(qrLines, join(lab.dir, 'qr.pbm')).trimEnd();
    assert.equal(decoded, config, 'the QR code carries the config shown above it');

    t.sendKeys('Escape');
    await t.waitFor(
      (l) => l.some((x) => /Seats \(1\)/.test(x)) && l.some((x) => /^\s*tui-phone\s+10\.5\.0\.\d/.test(x)) && !l.some((x) => x.includes('PrivateKey')),
      'the seat in the list, the key gone from the screen',
    );

    t.sendKeys('d');
    await t.waitFor(/Remove seat tui-phone\?/, 'the confirmation');
    t.sendKeys('n');
    await t.waitFor(/nothing changed/);
    assert.ok(kube.fake.store.get(PEERS, undefined, 'tui-phone'), 'answering no keeps the Peer');
    t.sendKeys('d');
    await t.waitFor(/Remove seat tui-phone\?/);
    t.sendKeys('y');
    await t.waitFor((l) => l.some((x) => /Seats \(0\)/.test(x)) && l.some((x) => /removed/.test(x)), 'the seat removed');
    assert.equal(kube.fake.store.get(PEERS, undefined, 'tui-phone'), undefined, 'the Peer is gone');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);

    const audit = JSON.parse((await kube.labd.sshAsync(kube.admin, ['audit', '--json'])).stdout) as {
      command: string;
      via: string;
      outcome: string;
      args: string;
    }[];
    const seatRows = audit.filter((a) => a.command.startsWith('seat '));
    assert.deepEqual(seatRows.map((a) => `${a.command} ${a.via} ${a.outcome}`).sort(), ['seat add tui ok', 'seat rm tui ok']);
    assert.ok(!seatRows.some((a) => a.args.includes(privateKey)), 'the private key is never audited');
  });
});
