/**
 * Certificate logins with the real OpenSSH client and certificates made by `ssh-keygen -s`:
 * what sshd would accept logs in, everything sshd (or labd's deny list) refuses is refused,
 * and labd's log names the reason.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { certFor, logMark, logSince } from './support/auth-lab.ts';
import { KeyLab, run, runAsync } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

/** An ECDSA key of the given curve size (KeyLab makes P-256 only). */
function ecdsaKey(lab: KeyLab, name: string, bits: '384' | '521'): string {
  const path = `${lab.dir}/${name}`;
  const r = run('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', bits, '-N', '', '-C', name, '-f', path]);
  assert.equal(r.status, 0, r.stderr);
  return path;
}

interface Whoami {
  user: string;
  role: string;
  credential: { kind: string; keyId?: string; serial?: string; principal?: string; keyFingerprint?: string; publicKey?: string };
}

describe('certificate logins with OpenSSH', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let ca: string;
  let ecdsaCa: string;
  let rsaCa: string;
  let otherCa: string;
  let p521Ca: string;

  before(async () => {
    ca = lab.key('ca-ed25519');
    ecdsaCa = lab.key('ca-ecdsa', 'ecdsa');
    rsaCa = lab.key('ca-rsa', 'rsa');
    otherCa = lab.key('ca-other');
    p521Ca = ecdsaKey(lab, 'ca-p521', '521');
    labd = await InProcessLabd.start({
      caKeys: [`${ca}.pub`, `${ecdsaCa}.pub`, `${rsaCa}.pub`, `${p521Ca}.pub`],
      env: {
        LABD_REVOKED_SERIALS: '666',
        LABD_REVOKED_KEY_IDS: 'stolen@example.com',
        LABD_PRINCIPAL_ROLES: 'admins=admin',
        LABD_MAX_CERT_LIFETIME: '24h',
      },
    });
  });
  after(async () => {
    await labd.stop();
    lab.cleanup();
  });

  const whoami = async (k: { key: string; cert: string }, user?: string): Promise<Whoami> => {
    const r = await labd.ssh(k.key, ['whoami', '--json'], { cert: k.cert, user });
    assert.equal(r.status, 0, `ssh failed: ${r.stderr}\n${labd.logs().slice(-3000)}`);
    return JSON.parse(r.stdout) as Whoami;
  };

  /** Logs in must fail (ssh exits 255) and labd must log the certificate refusal `reason`. */
  const refused = async (k: { key: string; cert: string }, reason: RegExp) => {
    const mark = logMark(labd);
    const r = await labd.ssh(k.key, ['whoami'], { cert: k.cert });
    assert.equal(r.status, 255, `expected a refused login, got ${r.status}: ${r.stdout}`);
    assert.equal(r.stdout, '');
    const line = await logSince(labd, mark, /refused publickey/);
    assert.match(line, reason);
  };

  for (const [name, userType, caName] of [
    ['ed25519 certificate from an ed25519 CA', 'ed25519', 'ed25519'],
    ['ECDSA P-256 certificate from an ECDSA P-256 CA (step-ca default)', 'ecdsa', 'ecdsa'],
    ['RSA certificate from an RSA CA', 'rsa', 'rsa'],
    ['ed25519 certificate from an ECDSA P-256 CA', 'ed25519', 'ecdsa'],
  ] as const) {
    test(`an ${name} logs in as its principal`, async () => {
      const signer = caName === 'ed25519' ? ca : caName === 'ecdsa' ? ecdsaCa : rsaCa;
      const principal = `${userType}-${caName}-user`.replace(/[^a-z0-9-]/g, '');
      const k = certFor(lab, signer, { type: userType, principals: [principal], id: `${principal}@example.com`, serial: 42 });
      const mark = logMark(labd);
      const me = await whoami(k);
      assert.equal(me.user, principal);
      assert.equal(me.role, 'member', 'sign-up by certificate gives the default role');
      // keyFingerprint: the certificate's own key, as ssh-keygen names it.
      const keyFingerprint = run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${k.key}.pub`]).stdout.split(' ')[1];
      // The certificate's own key (for `login` to link it) comes along.
      const { publicKey, ...credential } = me.credential;
      assert.match(publicKey ?? '', /^(ssh-|ecdsa-)/);
      assert.deepEqual(credential, { kind: 'cert', keyId: `${principal}@example.com`, serial: '42', principal, keyFingerprint });
      await logSince(labd, mark, /accepted certificate/);
    });
  }

  test('an ECDSA P-384 certificate from an ECDSA P-521 CA logs in', async () => {
    const key = ecdsaKey(lab, 'user-p384', '384');
    const cert = lab.sign(p521Ca, key, { principals: ['p384user'] });
    assert.equal((await whoami({ key, cert })).user, 'p384user');
  });

  test('plain ed25519, ECDSA and RSA keys added with `keys add` log in as their user', async () => {
    const k = certFor(lab, ca, { principals: ['keyholder'] });
    for (const type of ['ed25519', 'ecdsa', 'rsa'] as const) {
      const plain = lab.key(`plain-${type}`, type);
      // Proof of possession: a signature over labd's challenge, made by ssh-keygen -Y sign with the new key.
      const challenge = (JSON.parse((await labd.ssh(k.key, ['keys', 'challenge', '--json'], { cert: k.cert })).stdout) as { challenge: string }).challenge;
      const sig = run('ssh-keygen', ['-Y', 'sign', '-n', 'labd-keys-add', '-f', plain], { input: challenge });
      assert.equal(sig.status, 0, sig.stderr);
      const add = await labd.ssh(k.key, ['keys', 'add'], { cert: k.cert, input: lab.publicKey(plain) + '\n' + sig.stdout });
      assert.equal(add.status, 0, add.stderr);
      const r = await labd.ssh(plain, ['whoami', '--json']);
      assert.equal(r.status, 0, `${type}: ${r.stderr}`);
      const me = JSON.parse(r.stdout) as Whoami;
      assert.deepEqual([me.user, me.credential.kind], ['keyholder', 'key']);
    }
  });

  test('an expired certificate is refused', async () => {
    await refused(certFor(lab, ca, { principals: ['late'], validity: '-3h:-2h' }), /certificate has expired/);
  });

  test('a certificate that expired 30 s ago is refused: the clock skew does not extend valid-before', async () => {
    await refused(certFor(lab, ca, { principals: ['justlate'], validity: '-5m:-30s' }), /certificate has expired/);
  });

  test('a certificate that is not yet valid is refused', async () => {
    await refused(certFor(lab, ca, { principals: ['early'], validity: '+2h:+3h' }), /certificate is not yet valid/);
  });

  test('a certificate from a CA that is not trusted is refused', async () => {
    await refused(certFor(lab, otherCa, { principals: ['stranger'] }), /untrusted CA/);
  });

  test('a certificate whose source-address excludes the client is refused', async () => {
    await refused(
      certFor(lab, ca, { principals: ['faraway'], options: ['source-address=10.0.0.0/8,192.168.1.1'] }),
      /source-address 10\.0\.0\.0\/8,192\.168\.1\.1 does not allow 127\.0\.0\.1/,
    );
  });

  test('a certificate whose source-address includes the client logs in', async () => {
    const me = await whoami(certFor(lab, ca, { principals: ['nearby'], options: ['source-address=10.0.0.0/8,127.0.0.0/8'] }));
    assert.equal(me.user, 'nearby');
  });

  test('a certificate with an unknown critical option is refused', async () => {
    await refused(
      certFor(lab, ca, { principals: ['picky'], options: ['critical:frobnicate@example.com=yes'] }),
      /critical option 'frobnicate@example.com' is not supported/,
    );
  });

  test('an unknown extension is ignored, as sshd does', async () => {
    const me = await whoami(certFor(lab, ca, { principals: ['extended'], options: ['extension:vendor@example.com=1'] }));
    assert.equal(me.user, 'extended');
  });

  test('a revoked serial is refused', async () => {
    await refused(certFor(lab, ca, { principals: ['revokedserial'], serial: 666 }), /serial 666 is revoked/);
  });

  test('a revoked key id is refused', async () => {
    await refused(certFor(lab, ca, { principals: ['revokedid'], id: 'stolen@example.com' }), /key id \\"stolen@example.com\\" is revoked/);
  });

  test('a certificate with no principals is refused', async () => {
    await refused(certFor(lab, ca, {}), /lacks principal list/);
  });

  test('a certificate valid for longer than LABD_MAX_CERT_LIFETIME is refused', async () => {
    await refused(certFor(lab, ca, { principals: ['forever'], validity: '-1m:+30d' }), /lifetime exceeds the maximum of 86400s/);
  });

  test('an unknown plain key is refused', async () => {
    const key = lab.key('unknown-plain');
    const mark = logMark(labd);
    const r = await labd.ssh(key, ['whoami']);
    assert.equal(r.status, 255);
    assert.match(await logSince(labd, mark, /refused publickey/), /unknown key/);
  });

  test('the SSH user name picks the principal when it is one of them, else the first', async () => {
    const k = certFor(lab, ca, { principals: ['pia', 'pete'] });
    assert.equal((await whoami(k, 'pete')).user, 'pete');
    assert.equal((await whoami(k, 'somebody-else')).user, 'pia');
    assert.equal((await whoami(k, 'pia')).user, 'pia');
  });

  test('a configured principal maps to a role (admins=admin)', async () => {
    const me = await whoami(certFor(lab, ca, { principals: ['admins', 'dora'] }));
    assert.equal(me.user, 'dora', 'the role principal does not name the user');
    assert.equal(me.role, 'admin');
    const plain = certFor(lab, ca, { principals: ['dora'] });
    const ls = await labd.ssh(plain.key, ['user', 'ls'], { cert: plain.cert });
    assert.equal(ls.status, 3, 'without the admins principal dora is a member again');
  });

  test('a force-command certificate runs its command, not the one asked for', async () => {
    const k = certFor(lab, ca, { principals: ['forced'], options: ['force-command=whoami --json'] });
    const r = await labd.ssh(k.key, ['user', 'ls'], { cert: k.cert });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as Whoami).user, 'forced');
  });

  test('a certificate without permit-pty runs commands but gets no menu', async () => {
    const k = certFor(lab, ca, { principals: ['nopty'], options: ['no-pty'] });
    assert.equal((await whoami(k)).user, 'nopty');
    // labd refuses the PTY; OpenSSH treats a refused PTY it was told to force (-tt) as fatal.
    const tty = await runAsync('ssh', labd.sshArgs(k.key, { cert: k.cert, tty: true }), { input: '' });
    assert.notEqual(tty.status, 0);
    assert.match(tty.stderr, /PTY allocation request failed/);
    assert.doesNotMatch(tty.stdout, /Welcome to labd/);
    // Without a PTY request the shell request reaches labd, which says why there is no menu.
    const shell = await runAsync('ssh', labd.sshArgs(k.key, { cert: k.cert }), { input: '' });
    assert.equal(shell.status, 1);
    assert.match(shell.stderr, /^error: your certificate does not permit a terminal \(permit-pty\)/);
    assert.doesNotMatch(shell.stdout, /Welcome to labd/);
  });

  test('a certificate with permit-pty opens the menu (the counterpart of the test above)', async () => {
    const k = certFor(lab, ca, { principals: ['withpty'] });
    const child = spawn('ssh', labd.sshArgs(k.key, { cert: k.cert, tty: true }), { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise((r) => child.on('exit', r));
    try {
      const until = Date.now() + 30_000;
      while (!/Welcome to labd/.test(out) && Date.now() < until && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, /Welcome to labd/);
    } finally {
      child.kill();
      await exited;
    }
  });
});
