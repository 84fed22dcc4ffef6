/**
 * Escalation outside the chat room: a firing group nobody acknowledged within escalateAfter gets
 * one Apprise notification per firing episode. The row is written before the first attempt and
 * marked sent after Apprise accepts it, so a restart neither forgets nor repeats it; failures are
 * logged and retried with back-off, and never escape the loop.
 */
import { backoffDelay, type BackoffPolicy } from '../../core/backoff.ts';
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { formatDuration } from '../../core/duration.ts';
import type { AppriseClient, AppriseNotification } from './apprise.ts';
import { groupSummary, labelText } from './format.ts';
import type { AlertService } from './service.ts';
import type { AlertGroupView } from './view.ts';

/** One escalation: a group's firing episode, notified through one channel. */
export interface EscalationRow {
  id: number;
  groupId: number;
  /** The firingSince (ms) of the episode that escalated. */
  episode: number;
  channel: 'apprise';
  state: 'pending' | 'sent' | 'dropped';
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  sentAt: Date | null;
  createdAt: Date;
}

/** Escalations by Apprise, one per firing episode of a group: the port (SqlEscalationStore, sql-escalations.ts, implements it). */
export interface EscalationStore {
  /** Records the episode's escalation, once: false when it was already recorded. */
  open(groupId: number, episode: number, at: Date): Promise<boolean>;
  /** Pending escalations whose next attempt is due, oldest first. */
  due(at: Date): Promise<EscalationRow[]>;
  drop(id: number): Promise<void>;
  retryLater(id: number, attempts: number, error: string, next: Date): Promise<void>;
  sent(id: number, attempts: number, at: Date): Promise<void>;
}

/** Retries of a notification Apprise did not take: from alertmanager.appriseRetry (2 s by default) up to this. */
const BACKOFF_MAX_MS = 5 * 60 * 1000;
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

  private readonly backoff: BackoffPolicy;

  /** `retryMs`: the wait before the first retry of a failed notification (alertmanager.appriseRetry), doubled after each failure. */
  constructor(private readonly o: { escalations: EscalationStore; alerts: AlertService; apprise: AppriseClient; clock: Clock; log: Logger; retryMs?: number }) {
    this.backoff = { baseMs: o.retryMs ?? 2000, maxMs: BACKOFF_MAX_MS };
  }

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
      await this.record();
      await this.deliver();
    } catch (err) {
      this.o.log.error({ err }, 'alert escalation round failed; retrying');
    }
  }

  private async record(): Promise<void> {
    const now = this.o.clock.now();
    for (const g of await this.o.alerts.dueForEscalation(now)) {
      if (!g.firingSince) continue;
      const inserted = await this.o.escalations.open(g.id, g.firingSince.getTime(), now);
      if (inserted) this.o.log.info({ group: g.id }, 'alert escalated: notifying through Apprise');
    }
  }

  private async deliver(): Promise<void> {
    const { escalations, clock, log } = this.o;
    const due = await escalations.due(clock.now());
    for (const row of due) {
      if (this.stopped) return;
      const g = await this.o.alerts.store.get(row.groupId);
      // Acknowledged, resolved or firing anew since: this escalation has nothing left to say.
      if (!g || g.status !== 'firing' || g.ack || g.firingSince?.getTime() !== row.episode) {
        await escalations.drop(row.id);
        continue;
      }
      const attempts = row.attempts + 1;
      try {
        await this.o.apprise.notify(escalationNotification(g, this.o.alerts.escalateAfterSeconds, g.externalUrl), this.abort.signal);
      } catch (err) {
        if (this.stopped) return;
        const retryInMs = backoffDelay(row.attempts, this.backoff);
        const error = (err as Error).message;
        await escalations.retryLater(row.id, attempts, error, new Date(clock.now().getTime() + retryInMs));
        log.warn({ group: g.id, attempts, retryInMs, error }, 'Apprise notification failed; will retry');
        continue;
      }
      await escalations.sent(row.id, attempts, clock.now());
      log.info({ group: g.id, attempts }, 'Apprise notification sent');
    }
  }
}
