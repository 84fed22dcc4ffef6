import type { Role } from './permissions.ts';

export type Surface = 'ssh' | 'tui' | 'matrix' | 'http' | 'system';

/** Who is acting, and how they came in. Built once by a front-end's authentication. */
export interface Actor {
  userId: number | null;
  name: string;
  role: Role;
  via: Surface;
  /** How the identity was proven: the certificate's key id and serial, a key fingerprint, a Matrix id. */
  credential?:
    | {
        kind: 'cert';
        keyId: string;
        serial: string;
        principal: string;
        /** The certificate's own key, which the session proved it holds. */ keyFingerprint?: string;
        /** That key as a public key line (what `login` links). */
        publicKey?: string;
      }
    | { kind: 'key'; fingerprint: string }
    | { kind: 'matrix'; mxid: string }
    | { kind: 'system' }
    /** Without a key (keyboard-interactive), or with a proven key linked to nobody (its fingerprint). */
    | { kind: 'anonymous'; fingerprint?: string }
    /** A key that proved possession but belongs to nobody yet: it may only sign up (`join`). */
    | {
        kind: 'newcomer';
        fingerprint: string;
        /** The key as a public key line (type and base64). */
        publicKey: string;
        /** The SSH user name the client logged in with (`join` takes it as the account name when none is given). */
        loginName?: string;
      }
    | { kind: 'token'; name: string };
  remoteAddress?: string;
  /** The role config grants through the certificate's principals (auth.principalRoles), kept when the stored role is re-read. */
  principalRole?: Role;
}

export const systemActor: Actor = { userId: null, name: 'system', role: 'admin', via: 'system', credential: { kind: 'system' } };
