/**
 * ssh2's authentication context as ConnectionAuth sees it (method, username, the key, accept/reject),
 * recording how each attempt was answered: for driving ConnectionAuth directly with attempts that
 * arrive while earlier ones are still being evaluated (which a real client cannot be made to send).
 * Run standalone for an example: node --import tsx test/support/auth-context.ts
 */
import { generateKeyPairSync } from 'node:crypto';
import type { AuthContext } from 'ssh2';

export interface AuthAnswer {
  /** Which attempt (its label) was answered. */
  label: string;
  answer: 'accept' | 'reject';
  methods?: string[];
  partial?: boolean;
}

/** A fresh ed25519 public key as the SSH wire blob a publickey request carries. */
export function ed25519Blob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const str = (b: Buffer) => Buffer.concat([lenOf(b), b]);
  return Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
}

function lenOf(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return len;
}

export class AuthAttempts {
  readonly answers: AuthAnswer[] = [];

  /** An unsigned publickey query (is this key acceptable?) for `blob`. */
  query(label: string, username: string, blob: Buffer): AuthContext {
    return this.ctx(label, { method: 'publickey', username, key: { algo: 'ssh-ed25519', data: blob }, signature: undefined, blob: undefined });
  }

  /** An attempt with a method labd does not offer (password), refused without asking any store. */
  password(label: string, username: string): AuthContext {
    return this.ctx(label, { method: 'password', username, password: 'x' });
  }

  private ctx(label: string, fields: Record<string, unknown>): AuthContext {
    return {
      ...fields,
      service: 'ssh-connection',
      accept: () => void this.answers.push({ label, answer: 'accept' }),
      reject: (methods?: string[], partial?: boolean) => void this.answers.push({ label, answer: 'reject', methods, partial }),
      on: () => undefined,
    } as unknown as AuthContext;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const attempts = new AuthAttempts();
  const ctx = attempts.password('first', 'alice');
  (ctx as unknown as { reject: (m: string[]) => void }).reject(['publickey']);
  console.log('usage: const a = new AuthAttempts(); auth.handle(a.query("q", "alice", ed25519Blob())); auth.handle(a.password("p", "alice"));');
  console.log('then a.answers lists the answers in the order they were given:', JSON.stringify(attempts.answers));
}
