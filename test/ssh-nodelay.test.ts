/**
 * Issue 22: labd's accepted SSH sockets have TCP_NODELAY set, as sshd's do. Without it, ssh2's
 * JavaScript cipher path (Node without the native binding) writes each packet in several write()
 * calls and the tail of every packet waits for the client's delayed ACK. Checked on the kernel's
 * socket (getsockopt through pidfd_getfd), not by timing; a plain accepted socket shows the check
 * reads the flag at all.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type ssh2 from 'ssh2';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { keyClient } from './support/ssh2-client.ts';
import { socketFd, tcpNoDelay } from './support/tcp-nodelay.ts';

describe('TCP_NODELAY on accepted SSH sockets', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let client: ssh2.Client | undefined;
  let adminKey: string;

  before(async () => {
    adminKey = lab.key('admin');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(adminKey)] });
  });

  after(async () => {
    client?.end();
    await labd?.stop();
    lab.cleanup();
  });

  test('the check reads the kernel flag: a socket accepted with Nagle on says so', async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const socket: Socket = connect({ port, host: '127.0.0.1' });
    await new Promise((r) => socket.once('connect', r));
    try {
      assert.equal(await tcpNoDelay(socketFd(port, socket.localPort!)), false);
      socket.setNoDelay(true);
      // The client's own socket, now with the flag: the same reading turns true.
      assert.equal(await tcpNoDelay(socketFd(socket.localPort!, port)), true);
    } finally {
      socket.destroy();
      server.close();
    }
  });

  test("labd's end of an authenticated SSH connection has TCP_NODELAY set", async () => {
    client = await keyClient(labd.sshPort, adminKey, 'admin');
    const clientPort = (client as unknown as { _sock: Socket })._sock.localPort!;
    assert.equal(await tcpNoDelay(socketFd(labd.sshPort, clientPort)), true);
  });

  test('and so does a socket that has not authenticated yet (the flag is set at accept)', async () => {
    const raw = connect({ port: labd.sshPort, host: '127.0.0.1' });
    await new Promise((r) => raw.once('data', r));
    try {
      assert.equal(await tcpNoDelay(socketFd(labd.sshPort, raw.localPort!)), true);
    } finally {
      raw.destroy();
    }
  });
});
