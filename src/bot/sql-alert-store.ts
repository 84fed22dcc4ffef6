/** The alerts room's bookkeeping on SQLite or PostgreSQL (drizzle, one query set for both); its outbox rows are the bot store's. */
import { and, eq, isNotNull, isNull, ne, or } from 'drizzle-orm';
import type { SqlHandle } from '../db/sql.ts';
import { lockUntilCommit } from '../db/sql-guards.ts';
import type { AlertMessageRow, AlertMessageStore, NewAlertMessage } from './alert-store.ts';

export class SqlAlertMessageStore implements AlertMessageStore {
  constructor(private readonly h: SqlHandle) {}

  async message(groupId: number): Promise<AlertMessageRow | undefined> {
    const { matrixAlertMessages } = this.h.t;
    return (await this.h.run((db) => db.select().from(matrixAlertMessages).where(eq(matrixAlertMessages.groupId, groupId)).limit(1)))[0];
  }

  async messageByEventId(eventId: string): Promise<AlertMessageRow | undefined> {
    const { matrixAlertMessages } = this.h.t;
    return (await this.h.run((db) => db.select().from(matrixAlertMessages).where(eq(matrixAlertMessages.eventId, eventId)).limit(1)))[0];
  }

  async messageByPostTxnId(txnId: string): Promise<AlertMessageRow | undefined> {
    const { matrixAlertMessages } = this.h.t;
    return (await this.h.run((db) => db.select().from(matrixAlertMessages).where(eq(matrixAlertMessages.postTxnId, txnId)).limit(1)))[0];
  }

  async delivered(txnId: string, eventId: string): Promise<void> {
    const { matrixAlertMessages } = this.h.t;
    await this.h.run((db) => db.update(matrixAlertMessages).set({ eventId }).where(eq(matrixAlertMessages.postTxnId, txnId)));
  }

  async all(): Promise<AlertMessageRow[]> {
    const { matrixAlertMessages } = this.h.t;
    return this.h.run((db) => db.select().from(matrixAlertMessages).where(isNotNull(matrixAlertMessages.postTxnId)).orderBy(matrixAlertMessages.groupId));
  }

  async add(m: NewAlertMessage): Promise<void> {
    const { matrixAlertMessages } = this.h.t;
    await this.h.run((db) =>
      db
        .insert(matrixAlertMessages)
        .values({ groupId: m.groupId, roomId: m.roomId, postTxnId: m.postTxnId, lastTxnId: m.postTxnId, renderedHash: m.renderedHash }),
    );
  }

  async rendered(groupId: number, renderedHash: string): Promise<void> {
    const { matrixAlertMessages } = this.h.t;
    await this.h.run((db) => db.update(matrixAlertMessages).set({ renderedHash }).where(eq(matrixAlertMessages.groupId, groupId)));
  }

  async revised(groupId: number, revision: number, lastTxnId: string, renderedHash: string): Promise<void> {
    const { matrixAlertMessages } = this.h.t;
    await this.h.run((db) => db.update(matrixAlertMessages).set({ revision, lastTxnId, renderedHash }).where(eq(matrixAlertMessages.groupId, groupId)));
  }

  async markEscalated(groupId: number, episode: number): Promise<boolean> {
    const { matrixAlertMessages } = this.h.t;
    const marked = await this.h.run((db) =>
      db
        .update(matrixAlertMessages)
        .set({ escalatedFor: episode })
        .where(and(eq(matrixAlertMessages.groupId, groupId), or(isNull(matrixAlertMessages.escalatedFor), ne(matrixAlertMessages.escalatedFor, episode))))
        .returning({ groupId: matrixAlertMessages.groupId }),
    );
    return marked.length === 1;
  }

  async lockGroup(groupId: number): Promise<void> {
    await this.h.run((db) => lockUntilCommit(this.h, db, `alert-message:${groupId}`));
  }
}
