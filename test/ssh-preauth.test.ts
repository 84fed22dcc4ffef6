/**
 * Pre-auth limits (issue 10, item 2), attacked the way a flood would: raw TCP sockets that send
 * nothing or stop half-way through the identification line, many of them, from one address and
 * from many (the whole of 127/8 is loopback, so a test can be many sources), and a client that
 * spins on `none`. labd must hold sshd's LoginGraceTime (from accept) and MaxStartups.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { until } from './support/wait.ts';

interface RawSocket {
  socket: Socket;
  /** Bytes labd sent (its identification line, if it admitted the socket). */
  received(): string;
  closed: Promise<number>;
  opened: Promise<void>;
}

/** A TCP connection from `localAddress` that sends `send` (if anything) and then nothing. */
function rawSocket(port: number, localAddress: string, send?: string): RawSocket {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  let data = '';
  const start = Date.now();
  socket.on('data', (d) => (data += d.toString('latin1')));
  socket.on('error', () => undefined);
  const opened = new Promise<void>((res) => socket.once('connect', () => res()));
  if (send !== undefined) socket.once('connect', () => socket.write(send));
  const closed = new Promise<number>((res) => socket.once('close', () => res(Date.now() - start)));
  return { socket, received: () => data, closed, opened };
}

/** Waits until labd either sent its identification line (admitted) or closed the socket (refused). */
async function verdict(s: RawSocket): Promise<'admitted' | 'refused'> {
  let isClosed = false;
  void s.closed.then(() => (isClosed = true));
  return until('labd to admit or refuse a socket', () => (s.received().startsWith('SSH-2.0-labd') ? 'admitted' : isClosed ? 'refused' : undefined), {
    intervalMs: 20,
    timeoutMs: 30_000,
  });
}

async function metric(labd: InProcessLabd, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${labd.httpPort}/metrics`)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
}

describe('pre-auth limits: grace time from accept, MaxStartups in total and per source', () => {
  const lab = new KeyLab();
  let adminKey: string;
  /** A short grace time, to see silent sockets closed. */
  let graceful: InProcessLabd;
  /** A long grace time and small caps, to fill them. */
  let capped: InProcessLabd;
  const open: RawSocket[] = [];

  before(async () => {
    adminKey = lab.key('admin');
    [graceful, capped] = await Promise.all([
      InProcessLabd.start({ adminKeys: [lab.publicKey(adminKey)], env: { LABD_SSH_AUTH_TIMEOUT: '2s' } }),
      InProcessLabd.start({
        adminKeys: [lab.publicKey(adminKey)],
        env: { LABD_SSH_AUTH_TIMEOUT: '120s', LABD_SSH_MAX_STARTUPS: '12', LABD_SSH_MAX_STARTUPS_PER_SOURCE: '4', LABD_SSH_MAX_AUTH_TRIES: '6' },
      }),
    ]);
  });

  after(async () => {
    for (const s of open) s.socket.destroy();
    await Promise.all([graceful?.stop(), capped?.stop()]);
    lab.cleanup();
  });

  test('a socket that sends nothing, or half an identification line, is closed within the grace time of accept', async () => {
    const silent = rawSocket(graceful.sshPort, '127.0.0.1');
    const halfIdent = rawSocket(graceful.sshPort, '127.0.0.1', 'SSH-2.0-');
    const identOnly = rawSocket(graceful.sshPort, '127.0.0.1', 'SSH-2.0-flood\r\n');
    open.push(silent, halfIdent, identOnly);
    const deadline = (s: RawSocket) => Promise.race([s.closed, new Promise<number>((r) => setTimeout(() => r(-1), 60_000))]);
    const [a, b, c] = await Promise.all([deadline(silent), deadline(halfIdent), deadline(identOnly)]);
    console.log(`grace time 2s: silent socket held ${a} ms, half identification ${b} ms, identification only ${c} ms (-1: still open after 60 s)`);
    assert.ok(a > 0, 'a silent socket stayed open for 60 s');
    assert.ok(b > 0, 'a socket with half an identification line stayed open for 60 s');
    assert.ok(c > 0, 'a socket that stopped after its identification line stayed open for 60 s');
    assert.ok((await metric(graceful, /^labd_ssh_preauth_timeouts_total /)) >= 3);
  });

  test('per source: the fifth unauthenticated socket from one address is closed before the handshake; other addresses still get in', async () => {
    const fromOne = [1, 2, 3, 4, 5].map(() => rawSocket(capped.sshPort, '127.0.0.2'));
    open.push(...fromOne);
    const verdicts = [];
    for (const s of fromOne) verdicts.push(await verdict(s));
    assert.deepEqual(verdicts.slice(0, 4), ['admitted', 'admitted', 'admitted', 'admitted']);
    assert.equal(verdicts[4], 'refused', 'the fifth socket from 127.0.0.2 got an SSH identification line');
    assert.equal(fromOne[4]!.received(), '', 'a refused socket is closed before labd sends anything');
    const other = rawSocket(capped.sshPort, '127.0.0.3');
    open.push(other);
    assert.equal(await verdict(other), 'admitted');
    const login = await capped.ssh(adminKey, ['whoami']);
    assert.equal(login.status, 0, login.stderr);
    assert.ok((await metric(capped, /^labd_ssh_preauth_rejected_total\{reason="per_source"\}/)) >= 1);
    for (const s of [...fromOne, other]) s.socket.destroy();
    await until('labd to release the closed sockets', async () => (await metric(capped, /^labd_ssh_preauth_connections /)) === 0);
  });

  test('in total: past maxStartups every new connection is refused, a real login included, until the flood lets go', async () => {
    const flood: RawSocket[] = [];
    for (let source = 1; source <= 4; source++) for (let i = 0; i < 4; i++) flood.push(rawSocket(capped.sshPort, `127.0.1.${source}`));
    open.push(...flood);
    const verdicts = [];
    for (const s of flood) verdicts.push(await verdict(s));
    const admitted = verdicts.filter((v) => v === 'admitted').length;
    console.log(`16 silent sockets from 4 addresses against maxStartups=12: labd held ${admitted}, refused ${16 - admitted}`);
    assert.equal(admitted, 12);
    const during = await capped.ssh(adminKey, ['whoami']);
    assert.notEqual(during.status, 0, 'a login got in past maxStartups');
    assert.ok((await metric(capped, /^labd_ssh_preauth_rejected_total\{reason="total"\}/)) >= 4);
    assert.match(capped.logs(), /refused a connection before the handshake/);
    for (const s of flood) s.socket.destroy();
    await until('labd to release the closed sockets', async () => (await metric(capped, /^labd_ssh_preauth_connections /)) === 0);
    const afterwards = await capped.ssh(adminKey, ['whoami']);
    assert.equal(afterwards.status, 0, afterwards.stderr);
  });

  test('`none` requests count towards maxAuthTries after the first (as sshd)', async () => {
    let attempts = 0;
    const client = new ssh2.Client();
    const closed = new Promise<void>((res) => client.on('close', () => res()));
    client.on('error', () => undefined);
    client.connect({
      host: '127.0.0.1',
      port: capped.sshPort,
      username: 'spinner',
      readyTimeout: 120_000,
      authHandler: (_methods: unknown, _partial: unknown, next: (m: unknown) => void) => {
        attempts++;
        // Bounded: 50 is far past maxAuthTries; today's labd would take all of them.
        if (attempts > 50) return client.end();
        next({ type: 'none', username: 'spinner' });
      },
    } as unknown as ssh2.ConnectConfig);
    await closed;
    // The handler runs once to start, then once per USERAUTH_FAILURE.
    const failures = attempts - 1;
    console.log(`none requests refused before labd disconnected: ${failures}`);
    assert.ok(failures <= 7, `labd answered ${failures} none requests (maxAuthTries 6: the first is free, six more end the connection)`);
  });
});
