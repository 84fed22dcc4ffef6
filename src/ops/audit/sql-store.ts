/** The audit log on SQLite or PostgreSQL (drizzle, one query set for both). */
import { desc, gte } from 'drizzle-orm';
import type { SqlHandle } from '../../db/sql.ts';
import { credentialText, type AuditEntry, type AuditLog, type AuditRow } from './store.ts';

export class SqlAuditLog implements AuditLog {
  constructor(private readonly h: SqlHandle) {}

  async record(entry: AuditEntry): Promise<void> {
    const { audit } = this.h.t;
    await this.h.run((db) =>
      db.insert(audit).values({
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
      }),
    );
  }

  async since(since: Date, limit: number): Promise<AuditRow[]> {
    const { audit } = this.h.t;
    return this.h.run((db) => db.select().from(audit).where(gte(audit.at, since)).orderBy(desc(audit.id)).limit(limit));
  }
}
