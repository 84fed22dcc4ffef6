/**
 * Changes reach every replica within seconds (issue #21 item 2): two in-process labds on one
 * PostgreSQL database (Debian's postgresql-15), driven with the real OpenSSH client. A `role revoke`
 * or `user deny` made on one is refused on the other, also on a connection that was already open
 * there (OpenSSH ControlMaster); `user rm` on one ends the user's open ControlMaster connection on the
 * other, and `keys rm` the connection that logged in with that key; a CA that one replica sees rotated out
 * of step-ca closes the connections its certificates opened on the other. Once over PostgreSQL LISTEN/NOTIFY (no NATS), once over NATS (nats.url set).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { certFor, type KeyAndCert } from './support/auth-lab.ts';
import { KeyLab, run, type SshResult } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { FakeStepCa } from './support/fake-step-ca.ts';
import { NatsServer, natsServerAvailable } from './support/nats-server.ts';
import { POSTGRES_SKIP, startPostgresServer, type PostgresServer } from './support/postgres-server.ts';
import { until } from './support/wait.ts';

const lab = new KeyLab();
const ca = lab.key('ca');
const admin = lab.key('admin');
let pg: PostgresServer;
const controlPaths: { path: string; port: number }[] = [];

/** `ssh -O check`: whether the master connection is still up. */
const masterUp = (controlPath: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const child = spawn('ssh', ['-O', 'check', '-o', `ControlPath=${controlPath}`, '-p', String(port), 'labd@127.0.0.1'], { stdio: 'ignore' });
    child.on('exit', (code) => resolve(code === 0));
  });

const stopMaster = (controlPath: string, port: number): Promise<void> =>
  new Promise((resolve) => {
    const child = spawn('ssh', ['-O', 'exit', '-o', `ControlPath=${controlPath}`, '-p', String(port), 'labd@127.0.0.1'], { stdio: 'ignore' });
    child.on('exit', () => resolve());
  });

beforeAll(async () => {
  if (!POSTGRES_SKIP) pg = await startPostgresServer();
}, 60_000);

afterAll(async () => {
  for (const c of controlPaths) await stopMaster(c.path, c.port);
  await pg?.stop();
  lab.cleanup();
});

/** Two replicas on database `db` (started one after the other: the first migrates), with `env` added (`envB` to the second only). */
async function replicas(db: string, env: Record<string, string> = {}, envB: Record<string, string> = {}): Promise<[InProcessLabd, InProcessLabd]> {
  await pg.createDatabase(db);
  const opts = { caKeys: [`${ca}.pub`], adminKeys: [lab.publicKey(admin)], env: { LABD_DATABASE_URL: pg.url(db), ...env } };
  const a = await InProcessLabd.start(opts);
  try {
    return [a, await InProcessLabd.start({ ...opts, env: { ...opts.env, ...envB } })];
  } catch (err) {
    await a.stop();
    throw err;
  }
}

/** A user who logs in with a certificate (signed up at the first login), over one connection kept open to `labd`. */
function muxUser(labd: InProcessLabd, name: string): { key: KeyAndCert; run(command: string[]): Promise<SshResult>; up(): Promise<boolean> } {
  const key = certFor(lab, ca, { principals: [name] });
  const path = join(lab.dir, `cm-${name}-${labd.sshPort}`);
  controlPaths.push({ path, port: labd.sshPort });
  return {
    key,
    run: (command) => labd.sshShared(key.key, path, command, { cert: key.cert }),
    up: () => masterUp(path, labd.sshPort),
  };
}

async function ok(labd: InProcessLabd, command: string[]): Promise<SshResult> {
  const r = await labd.ssh(admin, command);
  assert.equal(r.status, 0, `${command.join(' ')}: ${r.stderr}`);
  return r;
}

/** Whether `command` is refused (exit 3) on `labd` now: polled, the change travels. */
async function refusedWithin(what: string, run: () => Promise<SshResult>): Promise<SshResult> {
  let last: SshResult | undefined;
  await until(what, async () => (last = await run()).status === 3);
  return last!;
}

describe.skipIf(POSTGRES_SKIP)('two replicas on one PostgreSQL database: LISTEN/NOTIFY', () => {
  let a: InProcessLabd;
  let b: InProcessLabd;
  beforeAll(async () => {
    [a, b] = await replicas('notify');
  }, 60_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  test('both replicas chose PostgreSQL LISTEN/NOTIFY and say so in /readyz', async () => {
    for (const labd of [a, b]) {
      assert.match(labd.logs(), /changes reach the other replicas through PostgreSQL LISTEN\/NOTIFY/);
      const ready = (await (await fetch(`http://127.0.0.1:${labd.httpPort}/readyz`)).json()) as { checks?: Record<string, unknown> } & Record<string, unknown>;
      assert.match(JSON.stringify(ready), /listening on labd_changes/);
    }
  });

  test('role revoke and user deny on one replica: the other refuses the permission, also on a connection already open', async () => {
    const mia = muxUser(b, 'mia');
    assert.equal((await mia.run(['paste', 'ls'])).status, 0, 'mia signs up on b and may list pastes');

    await ok(a, ['role', 'revoke', 'member', 'paste']);
    const refused = await refusedWithin('b refuses paste after the revoke on a', () => mia.run(['paste', 'ls']));
    assert.match(refused.stderr, /needs paste \(you are member\)/);
    assert.ok(await mia.up(), 'the same connection, downgraded');
    // Back on a: b allows it again.
    await ok(a, ['role', 'grant', 'member', 'paste']);
    await until('b allows paste again', async () => (await mia.run(['paste', 'ls'])).status === 0);

    await ok(a, ['user', 'deny', 'mia', 'paste']);
    await refusedWithin('b refuses paste after the deny on a', () => mia.run(['paste', 'ls']));
    // A new connection to b is refused too.
    const fresh = await b.ssh(mia.key.key, ['paste', 'ls'], { cert: mia.key.cert });
    assert.equal(fresh.status, 3, fresh.stderr);
    await ok(a, ['user', 'clear', 'mia', 'paste']);
    await until('b allows paste after the clear', async () => (await mia.run(['paste', 'ls'])).status === 0);
    // What the TUI's audit screen lists on b (it runs `audit` at every refresh) has the changes made on a.
    const commands = (await b.auditRows(admin)).map((r) => r.command);
    for (const c of ['role revoke', 'role grant', 'user deny', 'user clear']) assert.ok(commands.includes(c), `${c} in b's audit`);
  });

  test("user rm on one replica ends the user's open ControlMaster connection on the other", async () => {
    const otto = muxUser(b, 'otto');
    const first = await otto.run(['whoami', '--json']);
    assert.equal(first.status, 0, first.stderr);
    assert.ok(await otto.up(), 'the master connection to b persists');
    await ok(a, ['user', 'rm', 'otto', '--yes']);
    await until("otto's connection to b is closed", async () => !(await otto.up()));
    assert.match(b.logs(), /closing the connection of a removed user/);
  });

  test("keys rm on one replica ends the open connection that logged in with that key on the other; the user's other key stays in", async () => {
    const [k1, k2] = [lab.key('kim1'), lab.key('kim2')];
    const add = await a.ssh(admin, ['user', 'add', 'kim'], { input: lab.publicKey(k1) + '\n' });
    assert.equal(add.status, 0, add.stderr);
    const vouch = await a.ssh(admin, ['keys', 'add', '--user', 'kim'], { input: lab.publicKey(k2) + '\n' });
    assert.equal(vouch.status, 0, vouch.stderr);
    const path = join(lab.dir, `cm-kim-${b.sshPort}`);
    controlPaths.push({ path, port: b.sshPort });
    const first = await b.sshShared(k1, path, ['whoami']);
    assert.equal(first.status, 0, first.stderr);
    assert.ok(await masterUp(path, b.sshPort));
    // kim removes her first key, on a, logged in with her second one.
    const fp1 = run('ssh-keygen', ['-lf', `${k1}.pub`]).stdout.split(' ')[1];
    const keys = JSON.parse((await a.ssh(k2, ['keys', 'ls', '--json'])).stdout) as { id: number; fingerprint: string }[];
    const k1Row = keys.find((k) => k.fingerprint === fp1);
    assert.ok(k1Row, `${fp1} in ${JSON.stringify(keys)}`);
    const rm = await a.ssh(k2, ['keys', 'rm', String(k1Row.id), '--yes']);
    assert.equal(rm.status, 0, rm.stderr);
    await until("the connection kim's first key opened on b is closed", async () => !(await masterUp(path, b.sshPort)));
    assert.match(b.logs(), /closing a connection: its key was removed/);
    assert.equal((await b.ssh(k2, ['whoami'])).status, 0, 'her other key still logs in on b');
  });

  test('a lost LISTEN session is replaced, and the replica reloads everything once', async () => {
    const before = (b.logs().match(/listening again/g) ?? []).length;
    // The server ends both replicas' listening sessions (as a database restart or a network cut would).
    const { default: pgClient } = await import('pg');
    const c = new pgClient.Client({ connectionString: pg.url('notify') });
    await c.connect();
    try {
      const r = await c.query("select pg_terminate_backend(pid) as ended from pg_stat_activity where datname = 'notify' and query ilike 'listen %'");
      assert.ok(r.rows.length >= 2, `both listening sessions found: ${JSON.stringify(r.rows)}`);
    } finally {
      await c.end();
    }
    await until('b listens again', async () => (b.logs().match(/listening again/g) ?? []).length > before);
    // And changes flow again.
    const rosa = muxUser(b, 'rosa');
    assert.equal((await rosa.run(['paste', 'ls'])).status, 0);
    await ok(a, ['user', 'deny', 'rosa', 'paste']);
    await refusedWithin('b refuses paste after the deny on a', () => rosa.run(['paste', 'ls']));
  });
});

describe.skipIf(POSTGRES_SKIP || !natsServerAvailable())('two replicas on one PostgreSQL database: NATS', () => {
  let a: InProcessLabd;
  let b: InProcessLabd;
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await NatsServer.start();
    [a, b] = await replicas('nats', { LABD_NATS_URL: nats.url });
  }, 60_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await nats?.stop();
  });

  test('NATS is chosen when nats.url is set', () => {
    for (const labd of [a, b]) {
      assert.match(labd.logs(), /changes reach the other replicas over NATS/);
      assert.doesNotMatch(labd.logs(), /LISTEN\/NOTIFY/);
    }
  });

  test("a user deny on one replica is refused on the other; user rm ends the user's ControlMaster connection there", async () => {
    const ida = muxUser(b, 'ida');
    assert.equal((await ida.run(['paste', 'ls'])).status, 0, 'ida signs up on b');
    await ok(a, ['user', 'deny', 'ida', 'paste']);
    await refusedWithin('b refuses paste after the deny on a', () => ida.run(['paste', 'ls']));
    await ok(a, ['user', 'rm', 'ida', '--yes']);
    await until("ida's connection to b is closed", async () => !(await ida.up()));
  });

  test('after a NATS outage the replicas reconnect, reload everything once, and changes flow again', async () => {
    const kai = muxUser(b, 'kai');
    assert.equal((await kai.run(['paste', 'ls'])).status, 0);
    await nats.down();
    // Made while NATS is down: b hears of it after the reconnect (the client sends what it buffered, and b reloads everything).
    await ok(a, ['role', 'revoke', 'member', 'paste']);
    await nats.up();
    await until('b reconnected', async () => /change feed: NATS connection back/.test(b.logs()));
    await refusedWithin('b refuses paste after the reconnect', () => kai.run(['paste', 'ls']));
    await ok(a, ['role', 'grant', 'member', 'paste']);
    await until('b allows paste again', async () => (await kai.run(['paste', 'ls'])).status === 0);
  });
});

describe.skipIf(POSTGRES_SKIP)('two replicas on one PostgreSQL database: a CA rotated out of step-ca', () => {
  let a: InProcessLabd;
  let b: InProcessLabd;
  let stepCa: FakeStepCa;
  let caOld: string;
  let caNew: string;
  beforeAll(async () => {
    caOld = lab.key('rot-old-ca');
    caNew = lab.key('rot-new-ca');
    stepCa = await FakeStepCa.start({ userKeys: [`${caOld}.pub`] });
    const env = { LABD_STEPCA_URL: stepCa.url, LABD_STEPCA_ROOT_FINGERPRINT: stepCa.rootFingerprint, LABD_STEPCA_REFRESH: '1s' };
    // b would fetch again only in an hour: only a's announcement makes it look now.
    [a, b] = await replicas('stepca', env, { LABD_STEPCA_REFRESH: '1h' });
  }, 60_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await stepCa?.stop();
  });

  test("one replica's refresh drops the CA: the other fetches at once and closes the connection its certificate opened there", async () => {
    const old = certFor(lab, caOld, { principals: ['olga'] });
    const path = join(lab.dir, `cm-olga-${b.sshPort}`);
    controlPaths.push({ path, port: b.sshPort });
    const first = await b.sshShared(old.key, path, ['whoami'], { cert: old.cert });
    assert.equal(first.status, 0, first.stderr);
    stepCa.setUserKeys([`${caNew}.pub`]);
    await until("olga's connection to b is closed", async () => !(await masterUp(path, b.sshPort)));
    assert.match(b.logs(), /closing a connection: its certificate's CA is no longer trusted/);
    assert.match(b.logs(), /user CA keys from step-ca changed/);
    // And b trusts the new CA now.
    const nora = certFor(lab, caNew, { principals: ['nora'] });
    assert.equal((await b.ssh(nora.key, ['whoami'], { cert: nora.cert })).status, 0);
  });
});
