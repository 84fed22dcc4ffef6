import { desc, gte } from 'drizzle-orm';
import type { Actor } from '../../core/actor.ts';
import type { Db } from '../../db/client.ts';
import { audit } from '../../db/schema.ts';

export interface AuditEntry {
  at: Date;
  actor: Actor;
  command: string;
  args: Record<string, unknown>;
  outcome: string;
  error?: string;
  durationMs: number;
}

function credentialText(actor: Actor): string | null {
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
  }
}

export type AuditRow = typeof audit.$inferSelect;

/** The audit log as the registry and `audit` see it; SQLite today, another database later. */
export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  since(since: Date, limit: number): Promise<AuditRow[]>;
}

export class SqliteAuditLog implements AuditLog {
  constructor(private readonly db: Db) {}

  async record(entry: AuditEntry): Promise<void> {
    this.db
      .insert(audit)
      .values({
        at: entry.at,
        actor: entry.actor.name,
        userId: entry.actor.userId,
        via: entry.actor.via,
        credential: credentialText(entry.actor),
        remoteAddress: entry.actor.remoteAddress ?? null,
        command: entry.command,
        args: JSON.stringify(entry.args),
        outcome: entry.outcome,
        error: entry.error ?? null,
        durationMs: entry.durationMs,
      })
      .run();
  }

  async since(since: Date, limit: number): Promise<AuditRow[]> {
    return this.db.select().from(audit).where(gte(audit.at, since)).orderBy(desc(audit.id)).limit(limit).all();
  }
}
