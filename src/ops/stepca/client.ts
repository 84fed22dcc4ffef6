/**
 * The step-ca adapter: `GET /ssh/roots` over HTTPS pinned to step-ca's root certificate.
 *
 * step-ca answers `{"userKey": ["<base64 wire key>", …], "hostKey": [...]}` (arrays despite the
 * names, each left out when empty; 404 "no keys found" when both are). The root is either a PEM
 * file (root_ca.crt) or learned as `step ca bootstrap` does: `GET /root/{fingerprint}` without
 * verification, answered `{"ca": "<PEM>"}`, kept only when its SHA-256 equals the fingerprint.
 * Every later request verifies step-ca's TLS chain against that root alone (no system CAs).
 */
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { networkErrorText } from '../../core/network-errors.ts';
import { fingerprint, parsePublicKeyBlob } from '../../core/sshwire/keys.ts';

const MAX_BODY = 1024 * 1024;

export interface StepCaOptions {
  url: string;
  /** PEM of the root certificate (root_ca.crt), when configured as a file. */
  rootPem?: string;
  /** SHA-256 of the root certificate's DER, lower-case hex without colons. */
  rootFingerprint?: string;
  timeoutMs: number;
}

/** A step-ca answer labd cannot trust or use; `mismatch` when the root is not the pinned one. */
export class StepCaError extends Error {
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'mismatch' | 'bad-answer' = 'bad-answer',
  ) {
    super(message);
  }
}

/** SHA-256 of a certificate's DER, hex without colons (as `step certificate fingerprint` prints it). */
export function certFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

export class StepCaClient {
  private root: string | undefined;
  private readonly base: string;

  constructor(private readonly o: StepCaOptions) {
    this.base = o.url.replace(/\/+$/, '');
    if (o.rootPem !== undefined) {
      let fp: string;
      try {
        fp = certFingerprint(o.rootPem);
      } catch (err) {
        throw new StepCaError(`the step-ca root file is not a PEM certificate: ${(err as Error).message}`);
      }
      if (o.rootFingerprint && fp !== o.rootFingerprint) {
        throw new StepCaError(`the step-ca root file has fingerprint ${fp}, not the configured ${o.rootFingerprint}`, 'mismatch');
      }
      this.root = o.rootPem;
    }
  }

  /** The SSH user CA keys step-ca publishes now, as wire blobs. Throws a StepCaError with one line. */
  async sshUserKeys(): Promise<Buffer[]> {
    const root = await this.pinnedRoot();
    const res = await this.get('/ssh/roots', root);
    // step-ca's "no keys found": it has no SSH CA at all, so it vouches for no user.
    if (res.status === 404 && /no keys found/i.test(res.body)) return [];
    if (res.status !== 200) throw new StepCaError(`step-ca at ${this.base} answered /ssh/roots with ${res.status}: ${res.body.slice(0, 160)}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      throw new StepCaError(`step-ca at ${this.base} answered /ssh/roots with something that is not JSON`);
    }
    const userKey = (parsed as { userKey?: unknown }).userKey ?? [];
    if (!Array.isArray(userKey) || !userKey.every((k) => typeof k === 'string')) {
      throw new StepCaError(`step-ca at ${this.base} answered /ssh/roots without a list of user keys`);
    }
    return userKey.map((b64, i) => {
      const blob = Buffer.from(b64, 'base64');
      try {
        parsePublicKeyBlob(blob);
      } catch (err) {
        throw new StepCaError(`step-ca at ${this.base}: user key ${i + 1} of /ssh/roots is not a public key: ${(err as Error).message}`);
      }
      return blob;
    });
  }

  /** The root every request is verified against: the file, or the one bootstrapped by fingerprint. */
  private async pinnedRoot(): Promise<string> {
    if (this.root) return this.root;
    const fp = this.o.rootFingerprint!;
    // As `step ca bootstrap`: the answer is not trusted for its TLS, only for its fingerprint.
    const res = await this.get(`/root/${fp}`, undefined);
    if (res.status !== 200) throw new StepCaError(`step-ca at ${this.base} has no root with fingerprint ${fp} (${res.status}: ${res.body.slice(0, 120)})`);
    let pem: unknown;
    try {
      pem = (JSON.parse(res.body) as { ca?: unknown }).ca;
    } catch {
      /* below */
    }
    if (typeof pem !== 'string') throw new StepCaError(`step-ca at ${this.base} answered /root/${fp.slice(0, 12)}… without a certificate`);
    let got: string;
    try {
      got = certFingerprint(pem);
    } catch {
      throw new StepCaError(`step-ca at ${this.base} answered /root/${fp.slice(0, 12)}… with something that is not a certificate`);
    }
    if (got !== fp) {
      throw new StepCaError(`the root certificate served by ${this.base} has fingerprint ${got}, not the configured ${fp}: refusing to trust it`, 'mismatch');
    }
    this.root = pem;
    return pem;
  }

  private get(path: string, root: string | undefined): Promise<{ status: number; body: string }> {
    const url = new URL(this.base + path);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'GET',
          headers: { accept: 'application/json' },
          // With a root: only chains to it are accepted. Without (the bootstrap request): the answer is checked by fingerprint.
          ...(root ? { ca: [root], rejectUnauthorized: true } : { rejectUnauthorized: false }),
          agent: false,
          timeout: this.o.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (d: Buffer) => {
            size += d.length;
            if (size > MAX_BODY) {
              req.destroy(new StepCaError(`step-ca at ${this.base} answered ${path} with more than ${MAX_BODY} bytes`));
              return;
            }
            chunks.push(d);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new StepCaError(`step-ca at ${this.base} did not answer within ${this.o.timeoutMs / 1000}s`, 'unreachable')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof StepCaError) return reject(err);
        const tls = /CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ALTNAME/.test(err.code ?? '');
        if (tls) {
          return reject(
            new StepCaError(`step-ca at ${this.base} presented a TLS certificate that does not chain to the pinned root (${err.code})`, 'mismatch'),
          );
        }
        reject(new StepCaError(`cannot reach step-ca at ${this.base}: ${networkErrorText(err.code) ?? err.message.slice(0, 160)}`, 'unreachable'));
      });
      req.end();
    });
  }
}

/** SHA256 fingerprints of CA key blobs, for logs. */
export function keyFingerprints(blobs: readonly Buffer[]): string[] {
  return blobs.map((b) => fingerprint(b));
}
