/** The alert store on SQLite or PostgreSQL (drizzle, one query set for both): each write is one transaction, or joins the caller's. */
import { and, asc, count, desc, eq, gte, inArray, isNotNull, isNull, min, sql } from 'drizzle-orm';
import type { SqlDb, SqlHandle } from '../../db/sql.ts';
import { lockUntilCommit } from '../../db/sql-guards.ts';
import { optionalTime, type WebhookPayload } from './payload.ts';
import type { AckEnd, AckHistoryRow, AlertStore, IngestResult, NewAck } from './store.ts';
import type { AlertGroupView, AlertStatus, AlertView } from './view.ts';

type GroupRow = SqlHandle['t']['alertGroups']['$inferSelect'];
type AlertRow = SqlHandle['t']['alerts']['$inferSelect'];

export class SqlAlertStore implements AlertStore {
  constructor(private readonly h: SqlHandle) {}

  /**
   * Stores one webhook delivery in one transaction; nothing is stored if any part fails. Alertmanager
   * HA (and its retries) hand the same notification to several replicas at once: deliveries of one
   * group take turns (a lock on its group key until commit, PostgreSQL; SQLite has one writer), so
   * the group row is made once and a copy finds everything stored (changed: false, nothing to post).
   */
  async ingest(payload: WebhookPayload, now: Date): Promise<IngestResult> {
    const { alertGroups, alerts, alertTransitions } = this.h.t;
    return this.h.transaction(async (db) => {
      await lockUntilCommit(this.h, db, `alert-group:${payload.groupKey}`);
      let group = (await db.select().from(alertGroups).where(eq(alertGroups.groupKey, payload.groupKey)).limit(1))[0];
      const meta = {
        receiver: payload.receiver,
        groupLabels: payload.groupLabels,
        commonLabels: payload.commonLabels,
        commonAnnotations: payload.commonAnnotations,
        externalUrl: payload.externalURL,
      };
      if (!group) {
        group = (
          await db
            .insert(alertGroups)
            .values({ groupKey: payload.groupKey, status: payload.status, ...meta, firstSeenAt: now, changedAt: now })
            .returning()
        )[0]!;
      } else {
        await db.update(alertGroups).set(meta).where(eq(alertGroups.id, group.id));
      }
      let stored = 0;
      let duplicates = 0;
      for (const a of payload.alerts) {
        const startsAt = new Date(Date.parse(a.startsAt));
        const endsAt = optionalTime(a.endsAt);
        const existing = (
          await db
            .select()
            .from(alerts)
            .where(and(eq(alerts.groupId, group.id), eq(alerts.fingerprint, a.fingerprint)))
            .limit(1)
        )[0];
        if (existing && (await this.isStale(db, group.id, existing, a.status, startsAt))) {
          duplicates++;
          continue;
        }
        const inserted = (
          await db
            .insert(alertTransitions)
            .values({ groupId: group.id, fingerprint: a.fingerprint, status: a.status, startsAt, source: 'webhook', at: now })
            .onConflictDoNothing()
            .returning({ id: alertTransitions.id })
        )[0];
        const stateChanged = !existing || existing.status !== a.status || existing.startsAt.getTime() !== startsAt.getTime();
        if (inserted || stateChanged) stored++;
        else duplicates++;
        const row = { status: a.status, labels: a.labels, annotations: a.annotations, startsAt, endsAt, generatorUrl: a.generatorURL, updatedAt: now };
        if (existing) await db.update(alerts).set(row).where(eq(alerts.id, existing.id));
        else await db.insert(alerts).values({ groupId: group.id, fingerprint: a.fingerprint, ...row });
      }
      const changed = await this.refreshStatus(db, group, now, stored > 0);
      return { groupId: group.id, stored, duplicates, changed };
    });
  }

  /**
   * An older episode, or "firing" after a webhook already said "resolved" for the same start: a late
   * retry or an HA peer's copy, never newer news. A resolution labd only inferred by polling may be
   * contradicted (Alertmanager restarted and lost its alerts until Prometheus re-sent them).
   */
  private async isStale(db: SqlDb, groupId: number, existing: AlertRow, status: AlertStatus, startsAt: Date): Promise<boolean> {
    if (existing.startsAt.getTime() > startsAt.getTime()) return true;
    if (existing.startsAt.getTime() !== startsAt.getTime() || existing.status !== 'resolved' || status !== 'firing') return false;
    const { alertTransitions } = this.h.t;
    const resolvedBy = (
      await db
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
        .limit(1)
    )[0];
    return resolvedBy?.source !== 'poll';
  }

  /** Recomputes the group status from its alerts; returns whether the group changed. */
  private async refreshStatus(db: SqlDb, group: GroupRow, now: Date, alertsChanged: boolean): Promise<boolean> {
    const { alertGroups, alerts } = this.h.t;
    const firing = (
      await db
        .select({ n: count(), since: min(alerts.startsAt) })
        .from(alerts)
        .where(and(eq(alerts.groupId, group.id), eq(alerts.status, 'firing')))
    )[0]!;
    const status: AlertStatus = firing.n > 0 ? 'firing' : 'resolved';
    const statusChanged = status !== group.status;
    if (!statusChanged && !alertsChanged) return false;
    const update: Partial<GroupRow> = { status, changedAt: now };
    if (status === 'firing' && (statusChanged || group.firingSince === null)) {
      update.firingSince = firing.since ?? now;
      update.resolvedAt = null;
    }
    if (status === 'resolved' && statusChanged) update.resolvedAt = now;
    await db.update(alertGroups).set(update).where(eq(alertGroups.id, group.id));
    return true;
  }

  /** Alerts Alertmanager no longer lists while silenced: resolved, as seen by polling. Returns whether the group changed. */
  async resolveByPoll(groupId: number, fingerprints: string[], now: Date): Promise<boolean> {
    if (!fingerprints.length) return false;
    const { alertGroups, alerts, alertTransitions } = this.h.t;
    return this.h.transaction(async (db) => {
      const rows = await db
        .select()
        .from(alerts)
        .where(and(eq(alerts.groupId, groupId), eq(alerts.status, 'firing'), inArray(alerts.fingerprint, fingerprints)));
      for (const row of rows) {
        await db
          .insert(alertTransitions)
          .values({ groupId, fingerprint: row.fingerprint, status: 'resolved', startsAt: row.startsAt, source: 'poll', at: now })
          .onConflictDoNothing();
        await db.update(alerts).set({ status: 'resolved', endsAt: now, updatedAt: now }).where(eq(alerts.id, row.id));
      }
      const group = (await db.select().from(alertGroups).where(eq(alertGroups.id, groupId)).limit(1))[0];
      return group ? this.refreshStatus(db, group, now, rows.length > 0) : false;
    });
  }

  /** Alert groups by state for /metrics: firing and unacknowledged, acknowledged (firing), resolved. */
  async countByState(): Promise<Record<'firing' | 'acknowledged' | 'resolved', number>> {
    const { alertGroups } = this.h.t;
    // 0/1 on SQLite, false/true on PostgreSQL.
    const acked = sql<boolean>`(${alertGroups.ackedAt} is not null)`.mapWith(Boolean);
    const rows = await this.h.run((db) =>
      db
        .select({ status: alertGroups.status, acked, n: count() })
        .from(alertGroups)
        .groupBy(alertGroups.status, sql`(${alertGroups.ackedAt} is not null)`),
    );
    const out = { firing: 0, acknowledged: 0, resolved: 0 };
    for (const r of rows) {
      if (r.status === 'resolved') out.resolved += r.n;
      else if (r.acked) out.acknowledged += r.n;
      else out.firing += r.n;
    }
    return out;
  }

  async get(id: number): Promise<AlertGroupView | undefined> {
    const { alertGroups } = this.h.t;
    return this.h.run(async (db) => {
      const row = (await db.select().from(alertGroups).where(eq(alertGroups.id, id)).limit(1))[0];
      return row ? this.view(db, row) : undefined;
    });
  }

  /** Firing groups nobody acknowledged (newest first), or every group with `all`. */
  async list(all: boolean): Promise<AlertGroupView[]> {
    const { alertGroups } = this.h.t;
    return this.h.run(async (db) => {
      const rows = await db
        .select()
        .from(alertGroups)
        .where(all ? undefined : and(eq(alertGroups.status, 'firing'), isNull(alertGroups.ackedAt)))
        .orderBy(desc(alertGroups.changedAt), desc(alertGroups.id));
      return this.views(db, rows);
    });
  }

  /** Groups holding an acknowledgement (firing or, until its silences are expired, resolved). */
  async acknowledged(): Promise<AlertGroupView[]> {
    const { alertGroups } = this.h.t;
    return this.h.run(async (db) => {
      const rows = await db.select().from(alertGroups).where(isNotNull(alertGroups.ackedAt)).orderBy(asc(alertGroups.id));
      return this.views(db, rows);
    });
  }

  /** Records an acknowledgement and its silences; earlier silences of the group are marked ended (the caller expires them). */
  async recordAck(groupId: number, ack: NewAck): Promise<void> {
    const { alertAckHistory, alertGroups, alertSilences } = this.h.t;
    await this.h.transaction(async (db) => {
      await db
        .update(alertSilences)
        .set({ endedAt: ack.at })
        .where(and(eq(alertSilences.groupId, groupId), isNull(alertSilences.endedAt)));
      for (const s of ack.silences) {
        await db.insert(alertSilences).values({ groupId, fingerprint: s.fingerprint, silenceId: s.silenceId, createdAt: ack.at, endsAt: ack.until });
      }
      await db
        .update(alertGroups)
        .set({
          ackedBy: ack.by,
          ackedByUserId: ack.userId,
          ackedAt: ack.at,
          ackUntil: ack.until,
          ackComment: ack.comment,
          ackHoldUntil: ack.holdUntil,
          changedAt: ack.at,
        })
        .where(eq(alertGroups.id, groupId));
      await db.insert(alertAckHistory).values({ groupId, kind: 'acknowledged', by: ack.by, until: ack.until, at: ack.at });
    });
  }

  /** A held acknowledgement was extended to `until`. */
  async recordExtension(groupId: number, until: Date, now: Date): Promise<void> {
    const { alertAckHistory, alertGroups, alertSilences } = this.h.t;
    await this.h.transaction(async (db) => {
      await db
        .update(alertSilences)
        .set({ endsAt: until })
        .where(and(eq(alertSilences.groupId, groupId), isNull(alertSilences.endedAt)));
      await db.update(alertGroups).set({ ackUntil: until }).where(eq(alertGroups.id, groupId));
      await db.insert(alertAckHistory).values({ groupId, kind: 'extended', by: 'system', until, at: now });
    });
  }

  /** Silences Alertmanager replaced by new ones (it keeps the id when it can update in place). */
  async replaceSilences(replaced: { from: string; to: string }[]): Promise<void> {
    if (!replaced.length) return;
    const { alertSilences } = this.h.t;
    await this.h.transaction(async (db) => {
      for (const r of replaced) await db.update(alertSilences).set({ silenceId: r.to }).where(eq(alertSilences.silenceId, r.from));
    });
  }

  /** The acknowledgement history of a group, oldest first. */
  async ackHistory(groupId: number): Promise<AckHistoryRow[]> {
    const { alertAckHistory } = this.h.t;
    return this.h.run((db) => db.select().from(alertAckHistory).where(eq(alertAckHistory.groupId, groupId)).orderBy(asc(alertAckHistory.id)));
  }

  /** Ends the acknowledgement (unack, time ran out, group resolved): its silences are over. */
  async clearAck(groupId: number, now: Date, why: AckEnd, by: string): Promise<void> {
    const { alertAckHistory, alertGroups, alertSilences } = this.h.t;
    await this.h.transaction(async (db) => {
      await db.insert(alertAckHistory).values({ groupId, kind: why, by, until: null, at: now });
      await db
        .update(alertSilences)
        .set({ endedAt: now })
        .where(and(eq(alertSilences.groupId, groupId), isNull(alertSilences.endedAt)));
      await db
        .update(alertGroups)
        .set({ ackedBy: null, ackedByUserId: null, ackedAt: null, ackUntil: null, ackComment: null, ackHoldUntil: null, changedAt: now })
        .where(eq(alertGroups.id, groupId));
    });
  }

  /** Silences of the group labd has not ended yet. */
  async activeSilences(groupId: number): Promise<{ fingerprint: string; silenceId: string }[]> {
    return this.h.run((db) => this.silencesOf(db, groupId));
  }

  private silencesOf(db: SqlDb, groupId: number): Promise<{ fingerprint: string; silenceId: string }[]> {
    const { alertSilences } = this.h.t;
    return db
      .select({ fingerprint: alertSilences.fingerprint, silenceId: alertSilences.silenceId })
      .from(alertSilences)
      .where(and(eq(alertSilences.groupId, groupId), isNull(alertSilences.endedAt)))
      .orderBy(asc(alertSilences.id));
  }

  /** Extensions of the group's current acknowledgement. */
  private async extensions(db: SqlDb, groupId: number, since: Date): Promise<number> {
    const { alertAckHistory } = this.h.t;
    const row = (
      await db
        .select({ n: count() })
        .from(alertAckHistory)
        .where(and(eq(alertAckHistory.groupId, groupId), eq(alertAckHistory.kind, 'extended'), gte(alertAckHistory.at, since)))
    )[0];
    return row?.n ?? 0;
  }

  private async views(db: SqlDb, rows: GroupRow[]): Promise<AlertGroupView[]> {
    const out: AlertGroupView[] = [];
    for (const r of rows) out.push(await this.view(db, r));
    return out;
  }

  private async view(db: SqlDb, row: GroupRow): Promise<AlertGroupView> {
    const { alerts } = this.h.t;
    const silences = await this.silencesOf(db, row.id);
    const silenced = new Set(silences.map((s) => s.fingerprint));
    const alertRows = await db.select().from(alerts).where(eq(alerts.groupId, row.id)).orderBy(asc(alerts.id));
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
              extensions: row.ackHoldUntil ? await this.extensions(db, row.id, row.ackedAt) : 0,
            }
          : null,
      alerts: alertViews,
    };
  }
}
