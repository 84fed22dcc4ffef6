/** The audit log's port: who did what, when, how it ended (secrets already redacted by the registry). */
import type { Actor } from '../../core/actor.ts';

export interface AuditEntry {
  at: Date;
  actor: Actor;
  command: string;
  args: Record<string, unknown>;
  outcome: string;
  error?: string;
  durationMs: number;
}

/** One audit row as stored (args as JSON text). */
export interface AuditRow {
  id: number;
  at: Date;
  actor: string;
  userId: number | null;
  via: string;
  credential: string | null;
  remoteAddress: string | null;
  command: string;
  args: string;
  outcome: string;
  error: string | null;
  durationMs: number;
}

/** The audit log as the registry and `audit` see it; on SQLite or PostgreSQL. */
export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  since(since: Date, limit: number): Promise<AuditRow[]>;
}

/** How the actor proved who they are, as one audit column. */
export function credentialText(actor: Actor): string | null {
  const c = actor.credential;
  if (!c) return null;
  switch (c.kind) {
    case 'cert':
      return `cert key-id=${c.keyId} serial=${c.serial} principal=${c.principal}`;
    case 'key':
      return `key ${c.fingerprint}`;
    case 'matrix':
      return `matrix ${c.mxid}`;
    case 'system':
      return 'system';
    case 'anonymous':
      return c.fingerprint ? `anonymous (unlinked key ${c.fingerprint})` : 'anonymous (no key)';
    case 'newcomer':
      return `new key ${c.fingerprint}`;
    case 'token':
      return `token ${c.name}`;
  }
}
