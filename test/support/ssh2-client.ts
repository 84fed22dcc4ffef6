/**
 * A hand-driven SSH client for authentication tests the OpenSSH client cannot do: it sends
 * publickey requests with any algorithm name, any key blob and any signature (a forged
 * certificate, an unsigned query for one key followed by a signature from another).
 * ssh2's Client does the transport (KEX, encryption); the USERAUTH_REQUEST packets are built
 * here and sent through its protocol object, because its own authPK re-parses the key (it
 * cannot carry a certificate) and names the signature after the key algorithm.
 */
import { sign as cryptoSign, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import ssh2 from 'ssh2';

const require = createRequire(import.meta.url);
const { sendPacket } = require('ssh2/lib/protocol/utils.js') as { sendPacket: (proto: unknown, packet: Buffer) => void };

const USERAUTH_REQUEST = 50;

/** info-request: the server answered keyboard-interactive with a prompt (e.g. a device-flow login). */
export type AuthReply = 'pk-ok' | 'failure' | 'success' | 'closed' | 'info-request';

function sshString(value: Buffer | string): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value) : value;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** mpint encoding of an unsigned big-endian integer. */
function sshMpint(raw: Buffer): Buffer {
  let i = 0;
  while (i < raw.length - 1 && raw[i] === 0) i++;
  const v = raw.subarray(i);
  return sshString(v[0]! & 0x80 ? Buffer.concat([Buffer.alloc(1), v]) : v);
}

/** The wire blob of an OpenSSH public key or certificate file ("TYPE BASE64 [COMMENT]"). */
export function blobOf(pubFile: string): { algo: string; blob: Buffer } {
  const [algo, b64] = readFileSync(pubFile, 'utf8').trim().split(/\s+/) as [string, string];
  return { algo, blob: Buffer.from(b64, 'base64') };
}

/**
 * Signs like an SSH client: returns the signature blob (string algorithm, string signature)
 * for `sigAlgo` (ssh-ed25519, ecdsa-sha2-nistp256, rsa-sha2-256, rsa-sha2-512) with the
 * OpenSSH private key at `privateKeyFile`.
 */
export function signerFor(privateKeyFile: string, sigAlgo: string): (data: Buffer) => Buffer {
  const parsed = ssh2.utils.parseKey(readFileSync(privateKeyFile));
  if (parsed instanceof Error) throw parsed;
  const key = createPrivateKey(parsed.getPrivatePEM());
  return (data) => {
    let sig: Buffer;
    if (sigAlgo === 'ssh-ed25519') sig = cryptoSign(null, data, key);
    else if (sigAlgo.startsWith('ecdsa-sha2-')) {
      const hash = { nistp256: 'sha256', nistp384: 'sha384', nistp521: 'sha512' }[sigAlgo.slice('ecdsa-sha2-'.length)]!;
      const p1363 = cryptoSign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
      const half = p1363.length / 2;
      sig = Buffer.concat([sshMpint(p1363.subarray(0, half)), sshMpint(p1363.subarray(half))]);
    } else if (sigAlgo === 'rsa-sha2-256' || sigAlgo === 'rsa-sha2-512') sig = cryptoSign(sigAlgo === 'rsa-sha2-256' ? 'sha256' : 'sha512', data, key);
    else throw new Error(`unsupported signature algorithm ${sigAlgo}`);
    return Buffer.concat([sshString(sigAlgo), sshString(sig)]);
  };
}

interface ProtocolInternals {
  _kex: { sessionID: Buffer };
  _authsQueue: string[];
  _handlers: Record<string, (...args: unknown[]) => void>;
  _packetRW: { write: { allocStart: number; alloc(n: number): Buffer; finalize(p: Buffer): Buffer } };
}

/** One SSH connection whose authentication requests are sent one by one by the test. */
export class HandDrivenClient {
  /** Resolvers of the requests sent and not yet answered, oldest first (replies come in order). */
  private readonly pending: ((reply: AuthReply) => void)[] = [];
  private isClosed = false;
  /** Keyboard-interactive info requests received (their name and instructions), oldest first. */
  readonly infoRequests: { name: string; instructions: string }[] = [];
  private authed = false;
  /** Resolves when the server ends the connection. */
  readonly closed: Promise<void>;

  private constructor(
    private readonly client: ssh2.Client,
    private readonly proto: ProtocolInternals,
    closed: Promise<void>,
  ) {
    this.closed = closed;
  }

  /**
   * Connects, completes key exchange and a `none` request (which labd answers with
   * "publickey"), and returns a client ready for hand-made publickey requests.
   */
  static connect(port: number, user = 'labd'): Promise<HandDrivenClient> {
    return new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      let driver: HandDrivenClient | undefined;
      let calls = 0;
      let closedResolve!: () => void;
      const closed = new Promise<void>((r) => (closedResolve = r));
      const onEnd = () => {
        if (driver) {
          driver.isClosed = true;
          driver.settle('closed');
        } else reject(new Error('connection closed before authentication started'));
        closedResolve();
      };
      client.on('close', onEnd);
      client.on('error', () => undefined);
      client.on('ready', () => {
        if (driver) {
          driver.authed = true;
          driver.settle('success');
        }
      });
      client.connect({
        host: '127.0.0.1',
        port,
        username: user,
        readyTimeout: 120_000,
        // Called once to start (we send `none`), then after every USERAUTH_FAILURE.
        authHandler: (_methods, _partial, _next) => {
          calls++;
          if (calls === 1) return { type: 'none', username: user };
          if (calls === 2) {
            const proto = (client as unknown as { _protocol: ProtocolInternals })._protocol;
            driver = new HandDrivenClient(client, proto, closed);
            const okHandler = proto._handlers.USERAUTH_PK_OK;
            proto._handlers.USERAUTH_PK_OK = (...args) => {
              driver!.settle('pk-ok');
              okHandler?.(...args);
            };
            proto._handlers.USERAUTH_INFO_REQUEST = (...args: unknown[]) => {
              driver!.infoRequests.push({ name: String(args[1] ?? ''), instructions: String(args[2] ?? '') });
              driver!.settle('info-request');
            };
            resolve(driver);
            return undefined;
          }
          driver!.settle('failure');
          return undefined;
        },
      } as ssh2.ConnectConfig);
    });
  }

  private settle(reply: AuthReply): void {
    if (reply === 'closed') for (const p of this.pending.splice(0)) p(reply);
    else this.pending.shift()?.(reply);
  }

  private request(user: string, algo: string, blob: Buffer, signature?: Buffer): Buffer {
    return Buffer.concat([
      Buffer.from([USERAUTH_REQUEST]),
      sshString(user),
      sshString('ssh-connection'),
      sshString('publickey'),
      Buffer.from([signature ? 1 : 0]),
      sshString(algo),
      sshString(blob),
      ...(signature ? [sshString(signature)] : []),
    ]);
  }

  private send(payload: Buffer, method = 'publickey'): Promise<AuthReply> {
    if (this.isClosed) return Promise.resolve('closed');
    const reply = new Promise<AuthReply>((r) => this.pending.push(r));
    const w = this.proto._packetRW.write;
    const packet = w.alloc(payload.length);
    packet.set(payload, w.allocStart);
    // So ssh2 reads a type-60 answer right (PK_OK for publickey); it shifts this on FAILURE and SUCCESS too.
    this.proto._authsQueue.push(method);
    sendPacket(this.proto, w.finalize(packet));
    return reply;
  }

  /** An unsigned publickey request: "would this key be acceptable?" */
  query(user: string, algo: string, blob: Buffer): Promise<AuthReply> {
    return this.send(this.request(user, algo, blob));
  }

  /**
   * A signed publickey request. `sign` gets the exact data a client signs (session id and
   * the request) and returns the signature blob; it may sign with any key.
   */
  signed(user: string, algo: string, blob: Buffer, sign: (data: Buffer) => Buffer): Promise<AuthReply> {
    const unsigned = this.request(user, algo, blob);
    // The signed data is the request with the boolean set to true, minus the signature.
    const toSign = Buffer.from(unsigned);
    const boolAt = 1 + 4 + Buffer.byteLength(user) + 4 + 14 + 4 + 9;
    toSign[boolAt] = 1;
    const data = Buffer.concat([sshString(this.proto._kex.sessionID), toSign]);
    return this.send(this.request(user, algo, blob, sign(data)));
  }

  /** A keyboard-interactive request (language and submethods empty): 'info-request' if labd prompts, else 'failure'. */
  keyboardInteractive(user: string): Promise<AuthReply> {
    const payload = Buffer.concat([
      Buffer.from([USERAUTH_REQUEST]),
      sshString(user),
      sshString('ssh-connection'),
      sshString('keyboard-interactive'),
      sshString(''),
      sshString(''),
    ]);
    return this.send(payload, 'keyboard-interactive');
  }

  /** A password request (labd offers no passwords; it must still count as a failed attempt). */
  password(user: string, password: string): Promise<AuthReply> {
    const payload = Buffer.concat([
      Buffer.from([USERAUTH_REQUEST]),
      sshString(user),
      sshString('ssh-connection'),
      sshString('password'),
      Buffer.from([0]),
      sshString(password),
    ]);
    return this.send(payload, 'password');
  }

  /** Runs a command after a successful login. */
  exec(command: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    if (!this.authed) throw new Error('not authenticated');
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, channel) => {
        if (err) return reject(err);
        let stdout = '';
        let stderr = '';
        let code: number | null = null;
        channel.on('data', (d: Buffer) => (stdout += d));
        channel.stderr.on('data', (d: Buffer) => (stderr += d));
        channel.on('exit', (c: number | null) => (code = c));
        channel.on('close', () => resolve({ code, stdout, stderr }));
        channel.end();
      });
    });
  }

  close(): void {
    this.client.end();
  }
}

/** An ssh2 client logged in with the private key at `keyFile` (a plain key, no certificate). */
export function keyClient(port: number, keyFile: string, user = 'labd'): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port, username: user, privateKey: readFileSync(keyFile), readyTimeout: 120_000 });
  });
}

/** Opens `command` on an exec channel (with a PTY when `pty` is given, as `ssh -t`). */
export function execChannel(client: ssh2.Client, command: string, pty?: { cols: number; rows: number }): Promise<ssh2.ClientChannel> {
  return new Promise((resolve, reject) => {
    const opts = pty ? { pty: { term: 'xterm', cols: pty.cols, rows: pty.rows } } : {};
    client.exec(command, opts, (err, channel) => (err ? reject(err) : resolve(channel)));
  });
}

/** What a test needs of ssh2's client internals to break the protocol's flow control on purpose. */
export interface RawChannelAccess {
  /** labd's id for the channel (the recipient of what this client sends on it). */
  remoteId: number;
  socket: import('node:net').Socket;
  /** CHANNEL_DATA, sent whatever the window labd advertised. */
  sendData(data: Buffer): void;
  /** CHANNEL_WINDOW_ADJUST: lets labd send `amount` more bytes. */
  adjustWindow(amount: number): void;
}

export function rawChannel(client: ssh2.Client, channel: ssh2.ClientChannel): RawChannelAccess {
  const proto = (client as unknown as { _protocol: { channelData(id: number, d: Buffer): void; channelWindowAdjust(id: number, n: number): void } })._protocol;
  const remoteId = (channel as unknown as { outgoing: { id: number } }).outgoing.id;
  return {
    remoteId,
    socket: (client as unknown as { _sock: import('node:net').Socket })._sock,
    sendData: (d) => proto.channelData(remoteId, d),
    adjustWindow: (n) => proto.channelWindowAdjust(remoteId, n),
  };
}
