/**
 * A fake step-ca: the unauthenticated endpoints labd reads, over HTTPS with a root made by openssl.
 *
 * - `GET /ssh/roots` → `{"userKey": ["<base64 wire key>", …], "hostKey": [...]}` as step-ca's
 *   SSHRootsResponse marshals it: arrays, base64 of the wire-format key (no algorithm prefix, no
 *   comment), each left out when empty, and 404 `{"status":404,"message":"no keys found"}` when both are.
 * - `GET /root/{sha256}` → `{"ca": "<PEM>"}` when the fingerprint is the root's (what `step ca
 *   bootstrap` asks), 404 otherwise; `GET /roots.pem`; `GET /health` → `{"status":"ok"}`.
 *
 * The TLS chain is root → leaf (127.0.0.1, localhost), like step-ca's root → intermediate → leaf
 * minus the middle. The user CA keys can be rotated (`setUserKeys`), the server taken down and
 * brought back on the same port (`down`/`up`), and `impostor` answers `/root/{any}` with its own
 * root (a man in the middle hoping the client does not check the fingerprint).
 *
 * Standalone: `node --import tsx test/support/fake-step-ca.ts [USER_CA.pub …]` prints its URL and
 * root fingerprint (with no key given it makes an ed25519 user CA with ssh-keygen and prints where).
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** The base64 wire blob of an OpenSSH public key line or .pub file (what step-ca puts in userKey). */
function wireBase64(keyLineOrPath: string): string {
  const line = keyLineOrPath.includes(' ') ? keyLineOrPath : readFileSync(keyLineOrPath, 'utf8');
  const b64 = line.trim().split(/\s+/)[1];
  if (!b64) throw new Error(`not a public key: ${keyLineOrPath.slice(0, 60)}`);
  return b64;
}

export class FakeStepCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'fake-step-ca-'));
  /** PEM file of the root certificate (step-ca's root_ca.crt). */
  readonly rootPath = join(this.dir, 'root_ca.crt');
  readonly rootFingerprint: string;
  /** Paths asked, in order. */
  readonly requests: string[] = [];
  private userKeys: string[] = [];
  private hostKeys: string[] = [];
  private server: Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  impostor = false;

  private constructor() {
    const ext = join(this.dir, 'leaf.ext');
    writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    openssl(['req', '-x509', ...ec, '-keyout', 'root_ca_key', '-out', 'root_ca.crt', '-days', '2', '-subj', '/O=Fake Smallstep/CN=Fake Smallstep Root CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], this.dir); // prettier-ignore
    openssl(['req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1'], this.dir);
    openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'root_ca.crt', '-CAkey', 'root_ca_key', '-CAcreateserial', '-out', 'leaf.crt', '-days', '2',
      '-extfile', ext], this.dir); // prettier-ignore
    this.rootFingerprint = new X509Certificate(readFileSync(this.rootPath)).fingerprint256.replace(/:/g, '').toLowerCase();
    this.server = this.makeServer();
  }

  static async start(o: { userKeys?: string[] } = {}): Promise<FakeStepCa> {
    const ca = new FakeStepCa();
    ca.setUserKeys(o.userKeys ?? []);
    await ca.up();
    return ca;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** The SSH user CA keys published from now on (.pub paths or key lines): a rotation replaces the list. */
  setUserKeys(keys: string[]): void {
    this.userKeys = keys.map(wireBase64);
  }

  setHostKeys(keys: string[]): void {
    this.hostKeys = keys.map(wireBase64);
  }

  /** Stops listening and drops open connections: step-ca is down. */
  async down(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
    this.server = this.makeServer();
  }

  /** Listens (again, on the same port once it had one). */
  up(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    if (this.server.listening) await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private makeServer(): Server {
    const server = createServer({ key: readFileSync(join(this.dir, 'leaf.key')), cert: readFileSync(join(this.dir, 'leaf.crt')) }, (req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      this.requests.push(path);
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body) + '\n');
      };
      const rootPem = readFileSync(this.rootPath, 'utf8');
      if (req.method !== 'GET') return json(405, { status: 405, message: 'method not allowed' });
      if (path === '/health') return json(200, { status: 'ok' });
      if (path === '/roots.pem') {
        res.writeHead(200, { 'content-type': 'application/x-pem-file' });
        return res.end(rootPem);
      }
      const root = /^\/root\/([0-9a-fA-F]+)$/.exec(path);
      if (root) {
        if (this.impostor || root[1]!.toLowerCase() === this.rootFingerprint) return json(200, { ca: rootPem });
        return json(404, { status: 404, message: 'root not found' });
      }
      if (path === '/ssh/roots') {
        if (!this.userKeys.length && !this.hostKeys.length) return json(404, { status: 404, message: 'no keys found' });
        return json(200, {
          ...(this.userKeys.length ? { userKey: this.userKeys } : {}),
          ...(this.hostKeys.length ? { hostKey: this.hostKeys } : {}),
        });
      }
      json(404, { status: 404, message: 'not found' });
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    return server;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let keys = process.argv.slice(2);
  if (!keys.length) {
    const dir = mkdtempSync(join(tmpdir(), 'fake-step-ca-user-ca-'));
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fake step-ca user CA', '-f', join(dir, 'ssh_user_ca_key')], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(r.stderr);
    keys = [join(dir, 'ssh_user_ca_key.pub')];
    console.log(`made a user CA: ${join(dir, 'ssh_user_ca_key')} (sign with: ssh-keygen -s ${join(dir, 'ssh_user_ca_key')} -I you@example.com -n you KEY.pub)`);
  }
  const ca = await FakeStepCa.start({ userKeys: keys });
  console.log(`fake step-ca listening at ${ca.url}`);
  console.log(`  root fingerprint: ${ca.rootFingerprint}   root file: ${ca.rootPath}`);
  console.log(`  try: curl --cacert ${ca.rootPath} ${ca.url}/ssh/roots`);
  console.log(`  labd: LABD_STEPCA_URL=${ca.url} LABD_STEPCA_ROOT_FINGERPRINT=${ca.rootFingerprint}`);
  process.on('SIGINT', () => void ca.stop().then(() => process.exit(0)));
}
