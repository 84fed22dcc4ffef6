/**
 * step-ca as the source of trust: labd fetches the SSH user CA keys from a (fake) step-ca's
 * `/ssh/roots` over HTTPS pinned to its root, at start and every LABD_STEPCA_REFRESH. Real OpenSSH
 * client, certificates made by `ssh-keygen -s`. The fake answers from this process, so every ssh
 * runs without blocking the event loop (sshAsync).
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { certFor, logMark, logSince, type KeyAndCert } from './support/auth-lab.ts';
import { FakeStepCa } from './support/fake-step-ca.ts';
import { KeyLab, LabdProcess } from './support/labd.ts';
import { until } from './support/wait.ts';

interface Readyz {
  status: string;
  checks: Record<string, boolean>;
  details?: Record<string, string>;
}

async function readyz(labd: LabdProcess): Promise<{ code: number; body: Readyz }> {
  const res = await fetch(`http://127.0.0.1:${labd.httpPort}/readyz`);
  return { code: res.status, body: (await res.json()) as Readyz };
}

async function whoami(labd: LabdProcess, k: KeyAndCert): Promise<string | undefined> {
  const r = await labd.sshAsync(k.key, ['whoami', '--json'], { cert: k.cert });
  return r.status === 0 ? (JSON.parse(r.stdout) as { user: string }).user : undefined;
}

/** The login is refused and labd logs why. */
async function refused(labd: LabdProcess, k: KeyAndCert, reason: RegExp): Promise<void> {
  const mark = logMark(labd);
  const r = await labd.sshAsync(k.key, ['whoami'], { cert: k.cert });
  assert.equal(r.status, 255, `expected a refused login, got ${r.status}: ${r.stdout}`);
  assert.match(await logSince(labd, mark, /refused publickey/), reason);
}

describe('step-ca as the source of trusted user CA keys', () => {
  const lab = new KeyLab();
  let stepCa: FakeStepCa;
  let labd: LabdProcess;
  let caA: string;
  let caB: string;
  let staticCa: string;

  before(async () => {
    caA = lab.key('step-user-ca-a', 'ecdsa');
    caB = lab.key('step-user-ca-b');
    staticCa = lab.key('static-ca');
    stepCa = await FakeStepCa.start({ userKeys: [`${caA}.pub`] });
    // Host keys are published too: labd must never trust them for users.
    stepCa.setHostKeys([lab.publicKey(lab.key('step-host-ca'))]);
    labd = await LabdProcess.start({
      caKeys: [`${staticCa}.pub`],
      env: { LABD_STEPCA_URL: stepCa.url, LABD_STEPCA_ROOT_FINGERPRINT: stepCa.rootFingerprint, LABD_STEPCA_REFRESH: '1s' },
    });
  });
  after(async () => {
    await labd?.stop();
    await stepCa?.stop();
    lab.cleanup();
  });

  test('at start labd trusts the user CA step-ca publishes, besides the static file; /readyz says step-ca answered', async () => {
    assert.equal(await whoami(labd, certFor(lab, caA, { principals: ['alice'] })), 'alice');
    assert.equal(await whoami(labd, certFor(lab, staticCa, { principals: ['sam'] })), 'sam', 'auth.userCaKeys keeps working');
    await refused(labd, certFor(lab, caB, { principals: ['bob'] }), /untrusted CA/);
    // It bootstrapped the root by fingerprint, then asked for the SSH roots.
    assert.ok(stepCa.requests.includes(`/root/${stepCa.rootFingerprint}`), stepCa.requests.join(' '));
    assert.ok(stepCa.requests.includes('/ssh/roots'));
    const r = await readyz(labd);
    assert.equal(r.code, 200);
    assert.equal(r.body.status, 'ready');
    assert.equal(r.body.checks.stepCa, true);
    assert.match(r.body.details?.stepCa ?? '', /1 user CA key/);
  });

  test('a host CA key step-ca publishes is not trusted for users', async () => {
    const hostCa = `${lab.dir}/step-host-ca`;
    await refused(labd, certFor(lab, hostCa, { principals: ['mallory'] }), /untrusted CA/);
  });

  test('CA rotation: after the refresh the new CA is accepted and the removed one refused', async () => {
    const mark = logMark(labd);
    stepCa.setUserKeys([`${caB}.pub`]);
    const changed = await logSince(labd, mark, /user CA keys from step-ca changed/);
    assert.match(changed, /"added":\["SHA256:/);
    assert.match(changed, /"removed":\["SHA256:/);
    assert.equal(await whoami(labd, certFor(lab, caB, { principals: ['bob'] })), 'bob');
    await refused(labd, certFor(lab, caA, { principals: ['alice'] }), /untrusted CA/);
    assert.equal(await whoami(labd, certFor(lab, staticCa, { principals: ['sam'] })), 'sam');
  });

  test('step-ca down: labd keeps the last good set, logs it, and /readyz says so (still 200)', async () => {
    const mark = logMark(labd);
    await stepCa.down();
    try {
      const line = await logSince(labd, mark, /step-ca fetch failed/);
      assert.match(line, /cannot reach step-ca/);
      assert.match(line, /keeping the 1 user CA key/);
      const r = await until('readyz to report step-ca down', async () => {
        const got = await readyz(labd);
        return got.body.checks.stepCa === false ? got : undefined;
      });
      assert.equal(r.code, 200, 'step-ca down does not take labd out of service');
      assert.equal(r.body.status, 'degraded');
      assert.match(r.body.details?.stepCa ?? '', /cannot reach step-ca .*keeping 1 user CA key/);
      assert.equal(await whoami(labd, certFor(lab, caB, { principals: ['bob'] })), 'bob', 'the last good set still logs in');
      await refused(labd, certFor(lab, caA, { principals: ['alice'] }), /untrusted CA/);
    } finally {
      await stepCa.up();
    }
    await until('readyz to report step-ca back', async () => (await readyz(labd)).body.checks.stepCa === true);
  });
});

describe('a step-ca whose root is not the pinned one is refused', () => {
  const lab = new KeyLab();
  let genuine: FakeStepCa;
  let impostor: FakeStepCa;
  let ca: string;

  before(async () => {
    ca = lab.key('impostor-user-ca');
    genuine = await FakeStepCa.start({ userKeys: [] });
    impostor = await FakeStepCa.start({ userKeys: [`${ca}.pub`] });
    impostor.impostor = true;
  });
  after(async () => {
    await genuine?.stop();
    await impostor?.stop();
    lab.cleanup();
  });

  // Each of these boots its own labd (or fails to): they run side by side.
  test.concurrent('a wrong fingerprint: the root served is refused, named in the log and /readyz, and its CA is not trusted', async () => {
    const labd = await LabdProcess.start({
      env: { LABD_STEPCA_URL: impostor.url, LABD_STEPCA_ROOT_FINGERPRINT: genuine.rootFingerprint, LABD_STEPCA_REFRESH: '1h' },
    });
    try {
      const expected = new RegExp(
        `root certificate served by ${impostor.url} has fingerprint ${impostor.rootFingerprint}, not the configured ${genuine.rootFingerprint}`,
      );
      assert.match(await logSince(labd, 0, /step-ca refused/), expected);
      assert.ok(!impostor.requests.includes('/ssh/roots'), 'nothing is asked of a server that failed the fingerprint');
      const r = await readyz(labd);
      assert.equal(r.body.checks.stepCa, false);
      assert.match(r.body.details?.stepCa ?? '', expected);
      await refused(labd, certFor(lab, ca, { principals: ['eve'] }), /untrusted CA/);
    } finally {
      await labd.stop();
    }
  });

  test.concurrent('a pinned root file: a server whose TLS chain does not lead to it is refused', async () => {
    const labd = await LabdProcess.start({ env: { LABD_STEPCA_URL: impostor.url, LABD_STEPCA_ROOT: genuine.rootPath } });
    try {
      assert.match(await logSince(labd, 0, /step-ca refused/), /does not chain to the pinned root/);
      assert.ok(!impostor.requests.includes('/ssh/roots'), 'the TLS handshake failed before any request');
      assert.equal((await readyz(labd)).body.checks.stepCa, false);
      await refused(labd, certFor(lab, ca, { principals: ['eve'] }), /untrusted CA/);
    } finally {
      await labd.stop();
    }
  });

  test.concurrent('a root file whose fingerprint is not the configured one stops labd at start', async () => {
    await assert.rejects(
      LabdProcess.start({
        env: { LABD_STEPCA_URL: genuine.url, LABD_STEPCA_ROOT: impostor.rootPath, LABD_STEPCA_ROOT_FINGERPRINT: genuine.rootFingerprint },
      }),
      /LABD_STEPCA_ROOT.*has fingerprint .* not the configured/s,
    );
  });

  test.concurrent('a step-ca URL without a root to pin is a config error', async () => {
    await assert.rejects(
      LabdProcess.start({ env: { LABD_STEPCA_URL: genuine.url } }),
      /LABD_STEPCA_URL.*needs auth.stepCa.rootFingerprint or auth.stepCa.root/s,
    );
  });

  // Last: the impostor serves its keys here, and the tests above check that it was never asked for them.
  test('a root file that is pinned with the right file serves the keys', async () => {
    const labd = await LabdProcess.start({ env: { LABD_STEPCA_URL: impostor.url, LABD_STEPCA_ROOT: impostor.rootPath } });
    try {
      assert.equal(await whoami(labd, certFor(lab, ca, { principals: ['ivy'] })), 'ivy');
    } finally {
      await labd.stop();
    }
  });
});

describe('a CA rotated out of step-ca closes the connections its certificates opened', () => {
  const lab = new KeyLab();
  let stepCa: FakeStepCa;
  let labd: LabdProcess;
  let admin: string;
  let caOld: string;
  let caNew: string;
  let staticCa: string;

  before(async () => {
    admin = lab.key('admin');
    caOld = lab.key('rot-old-ca');
    caNew = lab.key('rot-new-ca');
    staticCa = lab.key('rot-static-ca');
    stepCa = await FakeStepCa.start({ userKeys: [`${caOld}.pub`] });
    labd = await LabdProcess.start({
      adminKeys: [lab.publicKey(admin)],
      caKeys: [`${staticCa}.pub`],
      env: { LABD_STEPCA_URL: stepCa.url, LABD_STEPCA_ROOT_FINGERPRINT: stepCa.rootFingerprint, LABD_STEPCA_REFRESH: '1s' },
    });
  });
  after(async () => {
    await labd?.stop();
    await stepCa?.stop();
    lab.cleanup();
  });

  test('after the refresh drops the CA, an open session of its certificate is told why and closed, logged and audited; others stay', async () => {
    const old = certFor(lab, caOld, { principals: ['olga'] });
    const kept = certFor(lab, staticCa, { principals: ['stan'] });
    const mark = logMark(labd);
    const oldSub = labd.sshStart(old.key, ['sub', 'news'], { cert: old.cert });
    const keptSub = labd.sshStart(kept.key, ['sub', 'news'], { cert: kept.cert });
    await logSince(labd, mark, /accepted certificate.*"user":"olga"|"user":"olga".*accepted certificate/);
    await logSince(labd, mark, /accepted certificate.*"user":"stan"|"user":"stan".*accepted certificate/);
    let keptEnded = false;
    void keptSub.done.then(() => (keptEnded = true));

    stepCa.setUserKeys([`${caNew}.pub`]);
    const done = await oldSub.done;
    assert.equal(done.status, 1, `labd ended the session (the harness's bound would give null): ${done.stderr}`);
    assert.match(done.stderr, /labd: the CA that signed your certificate \(SHA256:[^)]+\) is no longer trusted: session closed/);
    assert.match(await logSince(labd, mark, /closing a connection: its certificate's CA is no longer trusted/), /"user":"olga"/);
    // A certificate of the new CA logs in; the static CA's session was not touched.
    assert.equal(await whoami(labd, certFor(lab, caNew, { principals: ['nora'] })), 'nora');
    assert.equal(keptEnded, false, 'the session of a CA still trusted goes on');
    keptSub.kill();
    const rows = JSON.parse((await labd.sshAsync(admin, ['audit', '--json'])).stdout) as { command: string; actor: string; args: string }[];
    const row = rows.find((r) => r.command === 'session close' && r.actor === 'olga');
    assert.ok(row, 'the closing is audited');
    assert.match(row.args, /CA no longer trusted/);
  });
});
