/**
 * Escalation outside the chat room: a firing group nobody acknowledged within escalateAfter gets
 * one Apprise notification per firing episode. The row is written before the first attempt and
 * marked sent after Apprise accepts it, so a restart neither forgets nor repeats it; failures are
 * logged and retried with back-off, and never escape the loop.
 */
import { backoffDelay, type BackoffPolicy } from '../../core/backoff.ts';
import { and, asc, eq, lte } from 'drizzle-orm';
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { Db } from '../../db/client.ts';
import { alertEscalations } from '../../db/schema.ts';
import { formatDuration } from '../../core/duration.ts';
import type { AppriseClient, AppriseNotification } from './apprise.ts';
import { groupSummary, labelText } from './format.ts';
import type { AlertService } from './service.ts';
import type { AlertGroupView } from './view.ts';

const BACKOFF: BackoffPolicy = { baseMs: 2000, maxMs: 5 * 60 * 1000 };
const CHECK_MAX_MS = 5000;

export function escalationNotification(g: AlertGroupView, afterSeconds: number, externalUrl: string): AppriseNotification {
  const name = labelText(g.groupLabels) || labelText(g.commonLabels) || g.groupKey;
  const firing = g.alerts.filter((a) => a.status === 'firing').length;
  const summary = groupSummary(g);
  const lines = [`Alert group ${g.id} (${name}) has been firing for more than ${formatDuration(afterSeconds)} and nobody acknowledged it.`];
  if (summary) lines.push(summary);
  lines.push(`${firing}/${g.alerts.length} alerts firing. Acknowledge: ack ${g.id}`);
  if (externalUrl) lines.push(externalUrl);
  return { title: `[labd] alert ${g.id} unacknowledged: ${name}`.slice(0, 250), body: lines.join('\n'), type: 'warning' };
}

export class AppriseEscalator {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly o: { db: Db; alerts: AlertService; apprise: AppriseClient; clock: Clock; log: Logger },
  ) {}

  start(): void {
    const every = Math.max(250, Math.min(CHECK_MAX_MS, (this.o.alerts.escalateAfterSeconds * 1000) / 3));
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(loop, every);
      });
    };
    this.timer = setTimeout(loop, every);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.running;
  }

  /** One round: record new escalations, then try the ones that are due. Never throws. */
  async tick(): Promise<void> {
    try {
      this.record();
      await this.deliver();
    } catch (err) {
      this.o.log.error({ err }, 'alert escalation round failed; retrying');
    }
  }

  private record(): void {
    const now = this.o.clock.now();
    for (const g of this.o.alerts.dueForEscalation(now)) {
      if (!g.firingSince) continue;
      const inserted = this.o.db
        .insert(alertEscalations)
        .values({ groupId: g.id, episode: g.firingSince.getTime(), channel: 'apprise', nextAttemptAt: now })
        .onConflictDoNothing()
        .returning({ id: alertEscalations.id })
        .get();
      if (inserted) this.o.log.info({ group: g.id }, 'alert escalated: notifying through Apprise');
    }
  }

  private async deliver(): Promise<void> {
    const { db, clock, log } = this.o;
    const due = db
      .select()
      .from(alertEscalations)
      .where(and(eq(alertEscalations.state, 'pending'), lte(alertEscalations.nextAttemptAt, clock.now())))
      .orderBy(asc(alertEscalations.id))
      .all();
    for (const row of due) {
      if (this.stopped) return;
      const g = this.o.alerts.store.get(row.groupId);
      // Acknowledged, resolved or firing anew since: this escalation has nothing left to say.
      if (!g || g.status !== 'firing' || g.ack || g.firingSince?.getTime() !== row.episode) {
        db.update(alertEscalations).set({ state: 'dropped' }).where(eq(alertEscalations.id, row.id)).run();
        continue;
      }
      const attempts = row.attempts + 1;
      try {
        await this.o.apprise.notify(escalationNotification(g, this.o.alerts.escalateAfterSeconds, g.externalUrl), this.abort.signal);
      } catch (err) {
        if (this.stopped) return;
        const retryInMs = backoffDelay(row.attempts, BACKOFF);
        const error = (err as Error).message;
        db.update(alertEscalations).set({ attempts, lastError: error, nextAttemptAt: new Date(clock.now().getTime() + retryInMs) }).where(eq(alertEscalations.id, row.id)).run();
        log.warn({ group: g.id, attempts, retryInMs, error }, 'Apprise notification failed; will retry');
        continue;
      }
      db.update(alertEscalations).set({ state: 'sent', attempts, sentAt: clock.now(), lastError: null }).where(eq(alertEscalations.id, row.id)).run();
      log.info({ group: g.id, attempts }, 'Apprise notification sent');
    }
  }
}
