/** The Matrix links' port: which labd user a Matrix id acts as, and the one-time codes that link them. */
import { createHash, randomInt } from 'node:crypto';
import type { Role } from '../../core/permissions.ts';

export interface LinkedUser {
  id: number;
  name: string;
  /** A built-in role or a custom one (src/ops/access). */
  role: Role;
}

export type Redeemed =
  | { ok: true; mxid: string; previous?: string }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'expired'; expiredAt: Date }
  | { ok: false; reason: 'used'; usedAt: Date };

export interface MatrixLinkStore {
  /** Stores a new code for `mxid`, replacing its earlier unused ones. */
  addCode(mxid: string, codeHash: string, expiresAt: Date): Promise<void>;
  /** Uses the code (once) and links its Matrix id to `userId`, replacing an earlier link of that id. */
  redeem(codeHash: string, userId: number, now: Date): Promise<Redeemed>;
  /** The user a Matrix id is linked to (read for every message the bot takes). */
  linkedUser(mxid: string): Promise<LinkedUser | undefined>;
  /** The Matrix id linked to the user most recently. */
  linkedMatrixId(userName: string): Promise<string | undefined>;
}

/** Letters and digits that cannot be mistaken for one another (no 0/o, 1/l/i). */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** A new code: 10 characters (about 49 bits) shown as xxxxx-xxxxx. */
export function newLinkCode(): string {
  let s = '';
  for (let i = 0; i < 10; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}

/** What is stored of a code: its SHA-256, of the code as typed in any case, with or without the dash. */
export function linkCodeHash(code: string): string {
  return createHash('sha256').update(code.toLowerCase().replace(/[-\s]/g, '')).digest('hex');
}
