/** The audit log on SQLite (drizzle). */
import { desc, gte } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { audit } from '../../db/schema.ts';
import { credentialText, type AuditEntry, type AuditLog, type AuditRow } from './store.ts';

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
