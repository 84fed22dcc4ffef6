/** Escalation records on SQLite or PostgreSQL (drizzle, one query set for both). */
import { and, asc, eq, lte } from 'drizzle-orm';
import type { SqlHandle } from '../../db/sql.ts';
import type { EscalationRow, EscalationStore } from './escalation.ts';

export class SqlEscalationStore implements EscalationStore {
  constructor(private readonly h: SqlHandle) {}

  async open(groupId: number, episode: number, at: Date): Promise<boolean> {
    const { alertEscalations } = this.h.t;
    const inserted = await this.h.run((db) =>
      db
        .insert(alertEscalations)
        .values({ groupId, episode, channel: 'apprise', nextAttemptAt: at })
        .onConflictDoNothing()
        .returning({ id: alertEscalations.id }),
    );
    return inserted.length === 1;
  }

  async due(at: Date): Promise<EscalationRow[]> {
    const { alertEscalations } = this.h.t;
    return this.h.run((db) =>
      db
        .select()
        .from(alertEscalations)
        .where(and(eq(alertEscalations.state, 'pending'), lte(alertEscalations.nextAttemptAt, at)))
        .orderBy(asc(alertEscalations.id)),
    );
  }

  async drop(id: number): Promise<void> {
    const { alertEscalations } = this.h.t;
    await this.h.run((db) => db.update(alertEscalations).set({ state: 'dropped' }).where(eq(alertEscalations.id, id)));
  }

  async retryLater(id: number, attempts: number, error: string, next: Date): Promise<void> {
    const { alertEscalations } = this.h.t;
    await this.h.run((db) => db.update(alertEscalations).set({ attempts, lastError: error, nextAttemptAt: next }).where(eq(alertEscalations.id, id)));
  }

  async sent(id: number, attempts: number, at: Date): Promise<void> {
    const { alertEscalations } = this.h.t;
    await this.h.run((db) => db.update(alertEscalations).set({ state: 'sent', attempts, sentAt: at, lastError: null }).where(eq(alertEscalations.id, id)));
  }
}
