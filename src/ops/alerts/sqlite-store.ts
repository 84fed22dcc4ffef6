/** The alert store on SQLite (drizzle): each port method is one transaction, or one read. */
import { and, asc, count, desc, eq, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { alertAckHistory, alertGroups, alerts, alertSilences, alertTransitions } from '../../db/schema.ts';
import { optionalTime, type WebhookPayload } from './payload.ts';
import type { AckEnd, AckHistoryRow, AlertStore, IngestResult, NewAck } from './store.ts';
import type { AlertGroupView, AlertStatus, AlertView } from './view.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
type GroupRow = typeof alertGroups.$inferSelect;

export class SqliteAlertStore implements AlertStore {
  constructor(private readonly db: Db) {}

  /** Stores one webhook delivery in one transaction; nothing is stored if any part fails. */
  async ingest(payload: WebhookPayload, now: Date): Promise<IngestResult> {
    return this.db.transaction((tx) => {
      let group = tx.select().from(alertGroups).where(eq(alertGroups.groupKey, payload.groupKey)).get();
      const meta = {
        receiver: payload.receiver,
        groupLabels: payload.groupLabels,
        commonLabels: payload.commonLabels,
        commonAnnotations: payload.commonAnnotations,
        externalUrl: payload.externalURL,
      };
      if (!group) {
        group = tx
          .insert(alertGroups)
          .values({ groupKey: payload.groupKey, status: payload.status, ...meta, firstSeenAt: now, changedAt: now })
          .returning()
          .get();
      } else {
        tx.update(alertGroups).set(meta).where(eq(alertGroups.id, group.id)).run();
      }
      let stored = 0;
      let duplicates = 0;
      for (const a of payload.alerts) {
        const startsAt = new Date(Date.parse(a.startsAt));
        const endsAt = optionalTime(a.endsAt);
        const existing = tx
          .select()
          .from(alerts)
          .where(and(eq(alerts.groupId, group.id), eq(alerts.fingerprint, a.fingerprint)))
          .get();
        if (existing && this.isStale(tx, group.id, existing, a.status, startsAt)) {
          duplicates++;
          continue;
        }
        const inserted = tx
          .insert(alertTransitions)
          .values({ groupId: group.id, fingerprint: a.fingerprint, status: a.status, startsAt, source: 'webhook', at: now })
          .onConflictDoNothing()
          .returning({ id: alertTransitions.id })
          .get();
        const stateChanged = !existing || existing.status !== a.status || existing.startsAt.getTime() !== startsAt.getTime();
        if (inserted || stateChanged) stored++;
        else duplicates++;
        const row = { status: a.status, labels: a.labels, annotations: a.annotations, startsAt, endsAt, generatorUrl: a.generatorURL, updatedAt: now };
        if (existing) tx.update(alerts).set(row).where(eq(alerts.id, existing.id)).run();
        else
          tx.insert(alerts)
            .values({ groupId: group.id, fingerprint: a.fingerprint, ...row })
            .run();
      }
      const changed = this.refreshStatus(tx, group, now, stored > 0);
      return { groupId: group.id, stored, duplicates, changed };
    });
  }

  /**
   * An older episode, or "firing" after a webhook already said "resolved" for the same start: a late
   * retry or an HA peer's copy, never newer news. A resolution labd only inferred by polling may be
   * contradicted (Alertmanager restarted and lost its alerts until Prometheus re-sent them).
   */
  private isStale(tx: Tx, groupId: number, existing: typeof alerts.$inferSelect, status: AlertStatus, startsAt: Date): boolean {
    if (existing.startsAt.getTime() > startsAt.getTime()) return true;
    if (existing.startsAt.getTime() !== startsAt.getTime() || existing.status !== 'resolved' || status !== 'firing') return false;
    const resolvedBy = tx
      .select({ source: alertTransitions.source })
      .from(alertTransitions)
      .where(
        and(
          eq(alertTransitions.groupId, groupId),
          eq(alertTransitions.fingerprint, existing.fingerprint),
          eq(alertTransitions.status, 'resolved'),
          eq(alertTransitions.startsAt, startsAt),
        ),
      )
      .get();
    return resolvedBy?.source !== 'poll';
  }

  /** Recomputes the group status from its alerts; returns whether the group changed. */
  private refreshStatus(tx: Tx, group: GroupRow, now: Date, alertsChanged: boolean): boolean {
    const firing = tx
      .select({ n: sql<number>`count(*)`, since: sql<number | null>`min(${alerts.startsAt})` })
      .from(alerts)
      .where(and(eq(alerts.groupId, group.id), eq(alerts.status, 'firing')))
      .get()!;
    const status: AlertStatus = firing.n > 0 ? 'firing' : 'resolved';
    const statusChanged = status !== group.status;
    if (!statusChanged && !alertsChanged) return false;
    const update: Partial<GroupRow> = { status, changedAt: now };
    if (status === 'firing' && (statusChanged || group.firingSince === null)) {
      update.firingSince = firing.since === null ? now : new Date(firing.since);
      update.resolvedAt = null;
    }
    if (status === 'resolved' && statusChanged) update.resolvedAt = now;
    tx.update(alertGroups).set(update).where(eq(alertGroups.id, group.id)).run();
    return true;
  }

  /** Alerts Alertmanager no longer lists while silenced: resolved, as seen by polling. Returns whether the group changed. */
  async resolveByPoll(groupId: number, fingerprints: string[], now: Date): Promise<boolean> {
    if (!fingerprints.length) return false;
    return this.db.transaction((tx) => {
      const rows = tx
        .select()
        .from(alerts)
        .where(and(eq(alerts.groupId, groupId), eq(alerts.status, 'firing'), inArray(alerts.fingerprint, fingerprints)))
        .all();
      for (const row of rows) {
        tx.insert(alertTransitions)
          .values({ groupId, fingerprint: row.fingerprint, status: 'resolved', startsAt: row.startsAt, source: 'poll', at: now })
          .onConflictDoNothing()
          .run();
        tx.update(alerts).set({ status: 'resolved', endsAt: now, updatedAt: now }).where(eq(alerts.id, row.id)).run();
      }
      const group = tx.select().from(alertGroups).where(eq(alertGroups.id, groupId)).get();
      return group ? this.refreshStatus(tx, group, now, rows.length > 0) : false;
    });
  }

  /** Alert groups by state for /metrics: firing and unacknowledged, acknowledged (firing), resolved. */
  async countByState(): Promise<Record<'firing' | 'acknowledged' | 'resolved', number>> {
    const rows = this.db
      .select({ status: alertGroups.status, acked: sql<number>`${alertGroups.ackedAt} is not null`, n: sql<number>`count(*)` })
      .from(alertGroups)
      .groupBy(alertGroups.status, sql`${alertGroups.ackedAt} is not null`)
      .all();
    const out = { firing: 0, acknowledged: 0, resolved: 0 };
    for (const r of rows) {
      if (r.status === 'resolved') out.resolved += r.n;
      else if (r.acked) out.acknowledged += r.n;
      else out.firing += r.n;
    }
    return out;
  }

  async get(id: number): Promise<AlertGroupView | undefined> {
    const row = this.db.select().from(alertGroups).where(eq(alertGroups.id, id)).get();
    return row ? this.view(row) : undefined;
  }

  /** Firing groups nobody acknowledged (newest first), or every group with `all`. */
  async list(all: boolean): Promise<AlertGroupView[]> {
    const rows = this.db
      .select()
      .from(alertGroups)
      .where(all ? undefined : and(eq(alertGroups.status, 'firing'), isNull(alertGroups.ackedAt)))
      .orderBy(desc(alertGroups.changedAt), desc(alertGroups.id))
      .all();
    return rows.map((r) => this.view(r));
  }

  /** Groups holding an acknowledgement (firing or, until its silences are expired, resolved). */
  async acknowledged(): Promise<AlertGroupView[]> {
    return this.db
      .select()
      .from(alertGroups)
      .where(isNotNull(alertGroups.ackedAt))
      .orderBy(asc(alertGroups.id))
      .all()
      .map((r) => this.view(r));
  }

  /** Records an acknowledgement and its silences; earlier silences of the group are marked ended (the caller expires them). */
  async recordAck(groupId: number, ack: NewAck): Promise<void> {
    this.db.transaction((tx) => {
      tx.update(alertSilences)
        .set({ endedAt: ack.at })
        .where(and(eq(alertSilences.groupId, groupId), isNull(alertSilences.endedAt)))
        .run();
      for (const s of ack.silences) {
        tx.insert(alertSilences).values({ groupId, fingerprint: s.fingerprint, silenceId: s.silenceId, createdAt: ack.at, endsAt: ack.until }).run();
      }
      tx.update(alertGroups)
        .set({
          ackedBy: ack.by,
          ackedByUserId: ack.userId,
          ackedAt: ack.at,
          ackUntil: ack.until,
          ackComment: ack.comment,
          ackHoldUntil: ack.holdUntil,
          changedAt: ack.at,
        })
        .where(eq(alertGroups.id, groupId))
        .run();
      tx.insert(alertAckHistory).values({ groupId, kind: 'acknowledged', by: ack.by, until: ack.until, at: ack.at }).run();
    });
  }

  /** A held acknowledgement was extended to `until`. */
  async recordExtension(groupId: number, until: Date, now: Date): Promise<void> {
    this.db.transaction((tx) => {
      tx.update(alertSilences)
        .set({ endsAt: until })
        .where(and(eq(alertSilences.groupId, groupId), isNull(alertSilences.endedAt)))
        .run();
      tx.update(alertGroups).set({ ackUntil: until }).where(eq(alertGroups.id, groupId)).run();
      tx.insert(alertAckHistory).values({ groupId, kind: 'extended', by: 'system', until, at: now }).run();
    });
  }

  /** Silences Alertmanager replaced by new ones (it keeps the id when it can update in place). */
  async replaceSilences(replaced: { from: string; to: string }[]): Promise<void> {
    if (!replaced.length) return;
    this.db.transaction((tx) => {
      for (const r of replaced) tx.update(alertSilences).set({ silenceId: r.to }).where(eq(alertSilences.silenceId, r.from)).run();
    });
  }

  /** The acknowledgement history of a group, oldest first. */
  async ackHistory(groupId: number): Promise<AckHistoryRow[]> {
    return this.db.select().from(alertAckHistory).where(eq(alertAckHistory.groupId, groupId)).orderBy(asc(alertAckHistory.id)).all();
  }

  /** Ends the acknowledgement (unack, time ran out, group resolved): its silences are over. */
  async clearAck(groupId: number, now: Date, why: AckEnd, by: string): Promise<void> {
    this.db.transaction((tx) => {
      tx.insert(alertAckHistory).values({ groupId, kind: why, by, until: null, at: now }).run();
      tx.update(alertSilences)
        .set({ endedAt: now })
        .where(and(eq(alertSilences.groupId, groupId), isNull(alertSilences.endedAt)))
        .run();
      tx.update(alertGroups)
        .set({ ackedBy: null, ackedByUserId: null, ackedAt: null, ackUntil: null, ackComment: null, ackHoldUntil: null, changedAt: now })
        .where(eq(alertGroups.id, groupId))
        .run();
    });
  }

  /** Silences of the group labd has not ended yet. */
  async activeSilences(groupId: number): Promise<{ fingerprint: string; silenceId: string }[]> {
    return this.silencesOf(groupId);
  }

  private silencesOf(groupId: number): { fingerprint: string; silenceId: string }[] {
    return this.db
      .select({ fingerprint: alertSilences.fingerprint, silenceId: alertSilences.silenceId })
      .from(alertSilences)
      .where(and(eq(alertSilences.groupId, groupId), isNull(alertSilences.endedAt)))
      .orderBy(asc(alertSilences.id))
      .all();
  }

  /** Extensions of the group's current acknowledgement. */
  private extensions(groupId: number, since: Date): number {
    return (
      this.db
        .select({ n: count() })
        .from(alertAckHistory)
        .where(and(eq(alertAckHistory.groupId, groupId), eq(alertAckHistory.kind, 'extended'), sql`${alertAckHistory.at} >= ${since.getTime()}`))
        .get()?.n ?? 0
    );
  }

  private view(row: GroupRow): AlertGroupView {
    const silences = this.silencesOf(row.id);
    const silenced = new Set(silences.map((s) => s.fingerprint));
    const alertRows = this.db.select().from(alerts).where(eq(alerts.groupId, row.id)).orderBy(asc(alerts.id)).all();
    const alertViews: AlertView[] = alertRows.map((a) => ({
      fingerprint: a.fingerprint,
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      generatorUrl: a.generatorUrl,
      silenced: silenced.has(a.fingerprint),
    }));
    return {
      id: row.id,
      groupKey: row.groupKey,
      receiver: row.receiver,
      status: row.status,
      groupLabels: row.groupLabels,
      commonLabels: row.commonLabels,
      commonAnnotations: row.commonAnnotations,
      externalUrl: row.externalUrl,
      firstSeenAt: row.firstSeenAt,
      changedAt: row.changedAt,
      firingSince: row.firingSince,
      resolvedAt: row.resolvedAt,
      ack:
        row.ackedAt && row.ackedBy !== null && row.ackUntil
          ? {
              by: row.ackedBy,
              userId: row.ackedByUserId,
              at: row.ackedAt,
              until: row.ackUntil,
              comment: row.ackComment ?? '',
              silenceIds: silences.map((s) => s.silenceId),
              holdUntil: row.ackHoldUntil,
              extensions: row.ackHoldUntil ? this.extensions(row.id, row.ackedAt) : 0,
            }
          : null,
      alerts: alertViews,
    };
  }
}
