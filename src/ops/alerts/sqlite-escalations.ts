/** Escalation records on SQLite (drizzle). */
import { and, asc, eq, lte } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { alertEscalations } from '../../db/schema.ts';
import type { EscalationRow, EscalationStore } from './escalation.ts';

export class SqliteEscalationStore implements EscalationStore {
  constructor(private readonly db: Db) {}

  async open(groupId: number, episode: number, at: Date): Promise<boolean> {
    const inserted = this.db
      .insert(alertEscalations)
      .values({ groupId, episode, channel: 'apprise', nextAttemptAt: at })
      .onConflictDoNothing()
      .returning({ id: alertEscalations.id })
      .get();
    return inserted !== undefined;
  }

  async due(at: Date): Promise<EscalationRow[]> {
    return this.db
      .select()
      .from(alertEscalations)
      .where(and(eq(alertEscalations.state, 'pending'), lte(alertEscalations.nextAttemptAt, at)))
      .orderBy(asc(alertEscalations.id))
      .all();
  }

  async drop(id: number): Promise<void> {
    this.db.update(alertEscalations).set({ state: 'dropped' }).where(eq(alertEscalations.id, id)).run();
  }

  async retryLater(id: number, attempts: number, error: string, next: Date): Promise<void> {
    this.db.update(alertEscalations).set({ attempts, lastError: error, nextAttemptAt: next }).where(eq(alertEscalations.id, id)).run();
  }

  async sent(id: number, attempts: number, at: Date): Promise<void> {
    this.db.update(alertEscalations).set({ state: 'sent', attempts, sentAt: at, lastError: null }).where(eq(alertEscalations.id, id)).run();
  }
}
