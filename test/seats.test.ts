/**
 * Seats and key rotation through the real OpenSSH client against labd wired to the Kubernetes API fake;
 * configs are checked with Debian's wireguard-tools (`wg pubkey`, `wg-quick strip`).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { findResource } from './support/fake-kube/resources.ts';
import type { FakeKube } from './support/fake-kube/server.ts';
import type { KubeObject } from './support/fake-kube/store.ts';
import { KeyLab, type SshResult } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { startKubeLab, type KubeLab } from './support/kube-lab.ts';

const PEERS = findResource('kilo.squat.ai', 'v1alpha1', 'peers')!;
const SECRETS = findResource('', 'v1', 'secrets')!;

const ssh = (labd: InProcessLabd, key: string, command: string[], opts: { tty?: boolean } = {}): Promise<SshResult> => labd.sshAsync(key, command, opts);

const wg = (args: string[], input?: string): string => execFileSync('wg', args, { input, encoding: 'utf8' }).trim();

/** The value of `Key = value` in a wg-quick config. */
function field(config: string, key: string): string {
  const m = new RegExp(`^${key} = (.+)$`, 'm').exec(config);
  assert.ok(m, `no ${key} in:\n${config}`);
  return m[1]!.trim();
}

/** Decodes half-block QR text with zbar (Debian's zbar-tools): drawn cells are light, blanks dark. */
function decodeQr(lines: string[], file: string): string {
  const rows: boolean[][] = [];
  for (const line of lines) {
    const cells = [...line];
    rows.push(
      cells.map((c) => c === '█' || c === '▀'),
      cells.map((c) => c === '█' || c === '▄'),
    );
  }
  const scale = 6;
  let pbm = `P1\n${rows[0]!.length * scale} ${rows.length * scale}\n`;
  for (const row of rows) {
    const pixels = row.flatMap((light) => Array<number>(scale).fill(light ? 0 : 1)).join(' ');
    for (let i = 0; i < scale; i++) pbm += pixels + '\n';
  }
  writeFileSync(file, pbm);
  return execFileSync('zbarimg', ['--quiet', '--raw', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

function peerSpec(fake: FakeKube, name: string): { publicKey: string; allowedIPs: string[]; persistentKeepalive?: number } | undefined {
  return fake.store.get(PEERS, undefined, name)?.spec as { publicKey: string; allowedIPs: string[]; persistentKeepalive?: number } | undefined;
}

function tokenSecret(id: string, opts: { labd: boolean; expiration: Date; createdAt: Date }): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `bootstrap-token-${id}`,
      namespace: 'kube-system',
      creationTimestamp: opts.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      labels: opts.labd ? { 'app.kubernetes.io/managed-by': 'labd', 'labd.dev/node': `node-${id}` } : {},
    },
    type: 'bootstrap.kubernetes.io/token',
    stringData: {
      'token-id': id,
      'token-secret': 'abcdefghij012345',
      expiration: opts.expiration.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'usage-bootstrap-authentication': 'true',
    },
  } as unknown as KubeObject;
}

describe('seats and key rotation against the Kubernetes API fake', () => {
  const lab = new KeyLab();
  let kube: KubeLab;
  let fake: FakeKube;
  let labd: InProcessLabd;
  let admin: string;
  let member: string;
  const serverPublicKey = wg(['pubkey'], wg(['genkey']) + '\n');
  /** Every private key labd showed, to look for later in the database and the logs. */
  const shownPrivateKeys: string[] = [];

  async function addSeat(name: string): Promise<string> {
    const r = await ssh(labd, admin, ['seat', 'add', name]);
    assert.equal(r.status, 0, r.stderr);
    shownPrivateKeys.push(field(r.stdout, 'PrivateKey'));
    return r.stdout;
  }

  before(async () => {
    kube = await startKubeLab(lab, {
      env: {
        LABD_KUBE_TIMEOUT: '5s',
        // A /29: .0 network, .1 the lab side, .7 broadcast; the fixture's Peer alice-phone holds .2.
        LABD_SEATS_CIDR: '10.5.0.0/29',
        LABD_SEATS_ENDPOINT: 'lab.example.net:51820',
        LABD_SEATS_SERVER_PUBLIC_KEY: serverPublicKey,
        LABD_SEATS_ALLOWED_IPS: '10.4.0.0/16,10.5.0.0/29',
        LABD_SEATS_DNS: '10.43.0.10',
      },
    });
    ({ fake, labd, admin, member } = kube);
  });
  after(async () => {
    await kube?.stop();
    lab.cleanup();
  });

  test('seat add prints a wg-quick config that wg accepts, whose key matches the new Kilo Peer', async () => {
    const config = await addSeat('dana-phone');
    assert.equal(field(config, 'Address'), '10.5.0.3/32', 'the fixture Peer holds 10.5.0.2');
    assert.equal(field(config, 'DNS'), '10.43.0.10');
    assert.equal(field(config, 'PublicKey'), serverPublicKey);
    assert.equal(field(config, 'Endpoint'), 'lab.example.net:51820');
    assert.equal(field(config, 'AllowedIPs'), '10.4.0.0/16, 10.5.0.0/29');
    assert.equal(field(config, 'PersistentKeepalive'), '25');
    assert.doesNotMatch(config, /█/, 'no QR code without a terminal');

    const file = join(lab.dir, 'wgseat0.conf');
    writeFileSync(file, config, { mode: 0o600 });
    const stripped = execFileSync('wg-quick', ['strip', file], { encoding: 'utf8' });
    assert.match(
      stripped,
      /^(# labd seat dana-phone\n)?\[Interface\]\nPrivateKey = \S+\n\n\[Peer\]\nPublicKey = \S+\nEndpoint = lab\.example\.net:51820\nAllowedIPs = 10\.4\.0\.0\/16, 10\.5\.0\.0\/29\nPersistentKeepalive = 25\n*$/,
    );

    const peer = fake.store.get(PEERS, undefined, 'dana-phone')!;
    assert.equal((peer.spec as { publicKey: string }).publicKey, wg(['pubkey'], field(config, 'PrivateKey') + '\n'));
    assert.deepEqual(peerSpec(fake, 'dana-phone')!.allowedIPs, ['10.5.0.3/32']);
    assert.equal(peerSpec(fake, 'dana-phone')!.persistentKeepalive, 25);
    assert.equal(peer.metadata.labels?.['app.kubernetes.io/managed-by'], 'labd');
  });

  test('seat add --json gives the config and its fields; seat ls lists seats without private keys', async () => {
    const r = await ssh(labd, admin, ['seat', 'add', 'eli-laptop', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { seat: string; address: string; publicKey: string; privateKey: string; config: string };
    shownPrivateKeys.push(doc.privateKey);
    assert.equal(doc.seat, 'eli-laptop');
    assert.equal(doc.address, '10.5.0.4');
    assert.equal(doc.publicKey, wg(['pubkey'], doc.privateKey + '\n'));
    assert.equal(field(doc.config, 'PrivateKey'), doc.privateKey);
    assert.equal(peerSpec(fake, 'eli-laptop')!.publicKey, doc.publicKey);

    const ls = await ssh(labd, admin, ['seat', 'ls']);
    assert.equal(ls.status, 0, ls.stderr);
    assert.match(ls.stdout, /^NAME\s+ADDRESS\s+PUBLIC-KEY\s+CREATED\s+ROTATED$/m);
    assert.match(
      ls.stdout,
      new RegExp(`^eli-laptop\\s+10\\.5\\.0\\.4\\s+${doc.publicKey.slice(0, 10).replace(/[+/]/g, '\\$&')}…\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+-$`, 'm'),
    );
    assert.match(ls.stdout, /^dana-phone\s+10\.5\.0\.3\s/m);
    const lsJson = JSON.parse((await ssh(labd, admin, ['seat', 'ls', '--json'])).stdout) as { name: string; publicKey: string; privateKey?: string }[];
    assert.deepEqual(
      lsJson.map((s) => s.name),
      ['dana-phone', 'eli-laptop'],
    );
    assert.ok(lsJson.every((s) => s.privateKey === undefined));
  });

  test('a duplicate seat name is refused clearly; a bad name exits 2; a member is refused with exit 3', async () => {
    const dup = await ssh(labd, admin, ['seat', 'add', 'dana-phone']);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /^error: seat dana-phone already exists \(remove it with 'seat rm dana-phone'/);
    const foreign = await ssh(labd, admin, ['seat', 'add', 'alice-phone']);
    assert.equal(foreign.status, 1);
    assert.match(foreign.stderr, /^error: a Kilo Peer named alice-phone already exists in the cluster and is not a labd seat/);
    const bad = await ssh(labd, admin, ['seat', 'add', 'Bad_Name']);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /expected a seat name/);
    for (const command of [
      ['seat', 'add', 'mia-phone'],
      ['seat', 'ls'],
      ['keys', 'rotate', 'seat', 'dana-phone'],
      ['keys', 'rotate', 'join-tokens'],
    ]) {
      const refused = await ssh(labd, member, command);
      assert.equal(refused.status, 3, `${command.join(' ')}: ${refused.stderr}`);
      assert.match(refused.stderr, /needs ops\.keys/);
    }
    assert.equal(fake.store.get(PEERS, undefined, 'mia-phone'), undefined);
  });

  test('seat rm needs --yes, deletes the Peer and frees the address; addresses stay unique until the range is full', async () => {
    const unconfirmed = await ssh(labd, admin, ['seat', 'rm', 'dana-phone']);
    assert.equal(unconfirmed.status, 2);
    assert.ok(fake.store.get(PEERS, undefined, 'dana-phone'));
    const rm = await ssh(labd, admin, ['seat', 'rm', 'dana-phone', '--yes']);
    assert.equal(rm.status, 0, rm.stderr);
    assert.equal(rm.stdout, 'seat dana-phone removed; address 10.5.0.3 is free\n');
    assert.equal(fake.store.get(PEERS, undefined, 'dana-phone'), undefined);
    const gone = await ssh(labd, admin, ['seat', 'rm', 'dana-phone', '--yes']);
    assert.equal(gone.status, 4, gone.stderr);

    assert.equal(field(await addSeat('finn-tablet'), 'Address'), '10.5.0.3/32', 'the freed address is given out again');
    assert.equal(field(await addSeat('gus-phone'), 'Address'), '10.5.0.5/32');
    assert.equal(field(await addSeat('hal-phone'), 'Address'), '10.5.0.6/32');
    const full = await ssh(labd, admin, ['seat', 'add', 'ivy-phone']);
    assert.equal(full.status, 2);
    assert.match(full.stderr, /no free seat address left in 10\.5\.0\.0\/29/);
    assert.equal(fake.store.get(PEERS, undefined, 'ivy-phone'), undefined);
    const addresses = fake.store.list(PEERS).flatMap((p) => (p.spec as { allowedIPs: string[] }).allowedIPs);
    assert.equal(new Set(addresses).size, addresses.length, `addresses not unique: ${addresses.join(' ')}`);
  });

  test('keys rotate seat gives the Peer a new key (retrying a 409 conflict) and shows the new config once', async () => {
    const before = peerSpec(fake, 'eli-laptop')!.publicKey;
    // Another writer changes the Peer right after labd reads it, so labd's first update conflicts.
    const store = fake.store;
    const realGet = store.get.bind(store);
    let raced = false;
    store.get = (r, ns, name) => {
      const o = realGet(r, ns, name);
      if (!raced && r === PEERS && name === 'eli-laptop' && o) {
        raced = true;
        store.update(PEERS, { ...o, metadata: { ...o.metadata, annotations: { touched: 'by someone else' } } });
      }
      return o;
    };
    const patchesBefore = fake.requests.filter((q) => q.method === 'PATCH' && q.path.endsWith('/peers/eli-laptop')).length;
    let r: SshResult;
    try {
      r = await ssh(labd, admin, ['keys', 'rotate', 'seat', 'eli-laptop']);
    } finally {
      store.get = realGet;
    }
    assert.equal(r.status, 0, r.stderr);
    assert.ok(raced);
    shownPrivateKeys.push(field(r.stdout, 'PrivateKey'));
    assert.equal(
      fake.requests.filter((q) => q.method === 'PATCH' && q.path.endsWith('/peers/eli-laptop')).length - patchesBefore,
      2,
      'one conflict, one retry',
    );
    const after = peerSpec(fake, 'eli-laptop')!;
    assert.notEqual(after.publicKey, before);
    assert.equal(after.publicKey, wg(['pubkey'], field(r.stdout, 'PrivateKey') + '\n'));
    assert.deepEqual(after.allowedIPs, ['10.5.0.4/32']);
    assert.equal(field(r.stdout, 'Address'), '10.5.0.4/32');
    const ls = JSON.parse((await ssh(labd, admin, ['seat', 'ls', '--json'])).stdout) as { name: string; publicKey: string; rotatedAt: string | null }[];
    const eli = ls.find((s) => s.name === 'eli-laptop')!;
    assert.equal(eli.publicKey, after.publicKey);
    assert.ok(eli.rotatedAt);
    const missing = await ssh(labd, admin, ['keys', 'rotate', 'seat', 'nobody']);
    assert.equal(missing.status, 4, missing.stderr);
  });

  test('with a terminal (ssh -tt) the config comes with a QR code; without one it does not', async () => {
    const r = await ssh(labd, admin, ['keys', 'rotate', 'seat', 'finn-tablet'], { tty: true });
    assert.equal(r.status, 0, r.stderr);
    const text = r.stdout.replace(/\r\n/g, '\n');
    shownPrivateKeys.push(field(text, 'PrivateKey'));
    const qrLines = text.split('\n').filter((l) => /[█▀▄]/.test(l));
    assert.ok(qrLines.length >= 15, `expected a QR code, got:\n${text}`);
    assert.equal(new Set(qrLines.map((l) => [...l].length)).size, 1, 'QR rows have one width');
    // The code a phone's camera would read is exactly the config printed above it.
    const config = text.slice(0, text.indexOf(qrLines[0]!)).trimEnd() + '\n';
    // zbarimg ends each decoded symbol with a newline of its own.
    assert.equal(decodeQr(qrLines, join(lab.dir, 'qr.pbm')).replace(/\n$/, ''), config);
    const plain = await ssh(labd, admin, ['keys', 'rotate', 'seat', 'finn-tablet']);
    assert.equal(plain.status, 0, plain.stderr);
    shownPrivateKeys.push(field(plain.stdout, 'PrivateKey'));
    assert.doesNotMatch(plain.stdout, /[█▀▄]/);
  });

  test('keys rotate join-tokens removes expired and stale labd tokens and leaves valid and foreign ones', async () => {
    const now = Date.now();
    const hour = 3600_000;
    fake.load([
      tokenSecret('exp001', { labd: true, createdAt: new Date(now - 2 * hour), expiration: new Date(now - hour) }),
      tokenSecret('val001', { labd: true, createdAt: new Date(now - hour), expiration: new Date(now + 20 * hour) }),
      tokenSecret('old001', { labd: true, createdAt: new Date(now - 50 * hour), expiration: new Date(now + 100 * hour) }),
      tokenSecret('kub001', { labd: false, createdAt: new Date(now - 50 * hour), expiration: new Date(now - hour) }),
    ]);
    const r = await ssh(labd, admin, ['keys', 'rotate', 'join-tokens', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { removed: { name: string; node: string; reason: string }[]; kept: string[] };
    assert.deepEqual(doc.removed.map((t) => t.name).sort(), ['bootstrap-token-exp001', 'bootstrap-token-old001']);
    assert.match(doc.removed.find((t) => t.name === 'bootstrap-token-exp001')!.reason, /^expired /);
    assert.equal(doc.removed.find((t) => t.name === 'bootstrap-token-old001')!.node, 'node-old001');
    assert.deepEqual(doc.kept, ['bootstrap-token-val001']);
    const left = fake.store
      .list(SECRETS, 'kube-system')
      .map((s) => s.metadata.name)
      .filter((n) => n.startsWith('bootstrap-token-'));
    assert.deepEqual(left.sort(), ['bootstrap-token-kub001', 'bootstrap-token-val001']);
    const again = await ssh(labd, admin, ['keys', 'rotate', 'join-tokens', '--max-age', '30m']);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, 'removed 1 join token; 0 still valid\n');
  });

  test('no private key reaches the database, the audit rows or the logs', async () => {
    assert.ok(shownPrivateKeys.length >= 7);
    const audit = await ssh(labd, admin, ['audit', '--json']);
    assert.equal(audit.status, 0, audit.stderr);
    assert.match(audit.stdout, /keys rotate seat/);
    const files = readdirSync(labd.dataDir).filter((f) => f.startsWith('labd.db'));
    assert.ok(files.length >= 1);
    const stored = files.map((f) => readFileSync(join(labd.dataDir, f)).toString('latin1')).join('\n');
    for (const key of shownPrivateKeys) {
      assert.ok(!stored.includes(key), 'a private key is in the database');
      assert.ok(!audit.stdout.includes(key), 'a private key is in the audit rows');
      assert.ok(!labd.logs().includes(key), 'a private key is in the logs');
    }
    assert.ok(stored.includes(peerSpec(fake, 'eli-laptop')!.publicKey), 'the public key is stored');
  });
});

describe('seats without a seats section or a cluster', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;

  before(async () => {
    admin = lab.key('admin');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('seat add says in one line what to configure; seat ls is empty', async () => {
    const r = await ssh(labd, admin, ['seat', 'add', 'dana-phone']);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^error: seats are not configured: set seats\.endpoint and seats\.serverPublicKey \(LABD_SEATS_ENDPOINT, LABD_SEATS_SERVER_PUBLIC_KEY\)[^\n]*\n$/,
    );
    const ls = await ssh(labd, admin, ['seat', 'ls']);
    assert.equal(ls.status, 0, ls.stderr);
    assert.equal(ls.stdout, 'no seats\n');
    const tokens = await ssh(labd, admin, ['keys', 'rotate', 'join-tokens']);
    assert.equal(tokens.status, 1);
    assert.match(tokens.stderr, /^error: no Kubernetes cluster configured/);
  });
});
