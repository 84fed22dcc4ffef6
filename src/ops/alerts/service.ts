/**
 * Acknowledgements and their upkeep: `ack` silences exactly a group's firing alerts in Alertmanager,
 * `unack` expires those silences, and the poller notices what Alertmanager cannot tell labd
 * (a silenced alert sends no resolved notification) and ends acks whose time ran out.
 */
import { systemActor, type Actor } from '../../core/actor.ts';
import type { Clock } from '../../core/clock.ts';
import { Conflict, NotFound } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { AuditLog } from '../audit/store.ts';
import { exactMatchers, type AlertmanagerPort, type AmAlert } from '../alertmanager/index.ts';
import type { AlertStore, IngestResult } from './store.ts';
import type { AlertGroupView, AlertNotifier } from './view.ts';
import type { WebhookPayload } from './payload.ts';

/** The prefix karma and kthxbye recognise as an acknowledgement silence. */
export const ACK_PREFIX = 'ACK!';

export function ackComment(who: string, comment: string): string {
  return comment ? `${ACK_PREFIX} ${who}: ${comment}` : `${ACK_PREFIX} ${who}`;
}

export interface AlertServiceOptions {
  /** For the audit rows of what the service does by itself (extending held acks). */
  audit?: AuditLog;
  /** Step of held acknowledgements; unset: holds are not extended. */
  holdStepMs?: number;
  /** A firing group nobody acknowledged for this long escalates; unset: nothing escalates. */
  escalateAfterMs?: number;
}

/** How long an acknowledgement lasts: a fixed time, or held while the group fires (extended in steps up to a maximum). */
export type AckLength = { kind: 'fixed'; seconds: number } | { kind: 'hold'; stepSeconds: number; maxSeconds: number };

export class AlertService {
  private readonly notifiers = new Set<AlertNotifier>();
  private polling: Promise<void> | undefined;

  constructor(
    readonly store: AlertStore,
    readonly am: AlertmanagerPort,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: AlertServiceOptions = {},
  ) {}

  /** alertmanager.escalateAfter in seconds, for the words of an escalation (0: no escalation). */
  get escalateAfterSeconds(): number {
    return (this.opts.escalateAfterMs ?? 0) / 1000;
  }

  /**
   * Firing groups nobody acknowledged within alertmanager.escalateAfter. The one rule every
   * escalation channel (the room's mention, Apprise) follows; each remembers per firing episode
   * what it already sent.
   */
  async dueForEscalation(now = this.clock.now()): Promise<AlertGroupView[]> {
    const after = this.opts.escalateAfterMs;
    if (after === undefined) return [];
    return (await this.store.list(false)).filter(
      (g) => g.firingSince !== undefined && g.firingSince !== null && now.getTime() - g.firingSince.getTime() >= after,
    );
  }

  /** The Matrix bot (or anything else) subscribes here to hear about stored changes. */
  addNotifier(notifier: AlertNotifier): () => void {
    this.notifiers.add(notifier);
    return () => this.notifiers.delete(notifier);
  }

  /** Stores a webhook delivery (rejects if the database fails), then tells the notifiers. */
  async receive(payload: WebhookPayload): Promise<IngestResult> {
    const result = await this.store.ingest(payload, this.clock.now());
    if (result.changed) {
      const group = await this.store.get(result.groupId);
      if (group) {
        this.notify(group);
        // A group that resolved while acknowledged still has silences to expire.
        if (group.status === 'resolved' && group.ack)
          this.poll().catch((err: unknown) =>
            this.log.warn({ err: (err as Error).message, group: group.id }, 'could not expire the silences of a resolved group yet'),
          );
      }
    }
    return result;
  }

  async group(id: number): Promise<AlertGroupView> {
    const group = await this.store.get(id);
    if (!group) throw new NotFound(`no alert group ${id} (see: alerts --all)`);
    return group;
  }

  async ack(id: number, actor: Actor, length: AckLength, comment: string, signal?: AbortSignal): Promise<AlertGroupView> {
    const group = await this.group(id);
    const firing = group.alerts.filter((a) => a.status === 'firing');
    if (group.status !== 'firing' || !firing.length) throw new Conflict(`alert group ${id} is resolved: nothing to acknowledge`);
    const now = this.clock.now();
    const holdUntil = length.kind === 'hold' ? new Date(now.getTime() + length.maxSeconds * 1000) : null;
    const first = length.kind === 'hold' ? Math.min(length.stepSeconds, length.maxSeconds) : length.seconds;
    const until = new Date(now.getTime() + first * 1000);
    const created: { fingerprint: string; silenceId: string }[] = [];
    try {
      for (const alert of firing) {
        const silenceId = await this.am.createSilence(
          { matchers: exactMatchers(alert.labels), startsAt: now, endsAt: until, createdBy: actor.name, comment: ackComment(actor.name, comment) },
          signal,
        );
        created.push({ fingerprint: alert.fingerprint, silenceId });
      }
    } catch (err) {
      await this.expireQuietly(
        created.map((c) => c.silenceId),
        'undoing a failed ack',
      );
      throw err;
    }
    const previous = (await this.store.activeSilences(id)).map((s) => s.silenceId);
    try {
      await this.store.recordAck(id, { by: actor.name, userId: actor.userId, at: now, until, comment, holdUntil, silences: created });
    } catch (err) {
      await this.expireQuietly(
        created.map((c) => c.silenceId),
        'undoing an ack the database did not take',
      );
      throw err;
    }
    // A renewed ack replaces the earlier silences.
    await this.expireQuietly(previous, 'replacing an earlier ack');
    const updated = await this.group(id);
    this.notify(updated);
    return updated;
  }

  async unack(id: number, actor: Actor, signal?: AbortSignal): Promise<AlertGroupView> {
    const group = await this.group(id);
    if (!group.ack) throw new Conflict(`alert group ${id} is not acknowledged`);
    // All silences first: if Alertmanager fails half-way nothing is recorded and a retry is harmless.
    for (const silenceId of group.ack.silenceIds) await this.am.expireSilence(silenceId, signal);
    await this.store.clearAck(id, this.clock.now(), 'unacknowledged', actor.name);
    const updated = await this.group(id);
    this.notify(updated);
    return updated;
  }

  /** One round of upkeep; concurrent calls share the round in progress. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  /** Waits for a round in progress, without starting one (shutdown). */
  async settle(): Promise<void> {
    await this.polling?.catch(() => undefined);
  }

  private async pollOnce(): Promise<void> {
    const acked = await this.store.acknowledged();
    if (!acked.length) return;
    const now = this.clock.now();
    const firing = acked.filter((g) => g.status === 'firing' && g.ack!.until.getTime() > now.getTime());
    for (const g of acked) {
      if (g.status === 'firing' && g.ack!.until.getTime() <= now.getTime()) {
        // Alertmanager ends the silences by itself at the same moment.
        await this.store.clearAck(g.id, now, 'ran-out', systemActor.name);
        this.log.info({ group: g.id, by: g.ack!.by }, 'acknowledgement ran out');
        this.notify(await this.group(g.id));
      }
    }
    if (firing.length) {
      const listed = await this.am.listAlerts({ active: true, silenced: true, inhibited: true, unprocessed: true });
      const live = new Map(listed.map((a) => [a.fingerprint, a]));
      for (const g of firing) {
        const checkedAt = this.clock.now();
        const gone = g.alerts.filter((a) => a.status === 'firing' && !stillFiring(live.get(a.fingerprint), a.startsAt, checkedAt)).map((a) => a.fingerprint);
        if (await this.store.resolveByPoll(g.id, gone, this.clock.now())) {
          this.log.info({ group: g.id, resolved: gone.length }, 'acknowledged alerts resolved (seen by polling)');
          this.notify(await this.group(g.id));
        }
      }
    }
    await this.extendHolds();
    for (const g of await this.store.acknowledged()) {
      if (g.status !== 'resolved') continue;
      // Resolved while acknowledged: the silences go, or a re-fire would stay silent.
      for (const silenceId of g.ack!.silenceIds) await this.am.expireSilence(silenceId);
      await this.store.clearAck(g.id, this.clock.now(), 'resolved', systemActor.name);
      this.log.info({ group: g.id }, 'resolved group: acknowledgement silences expired');
      this.notify(await this.group(g.id));
    }
  }

  /**
   * Held acknowledgements (ack without a duration) of firing groups: once less than half a step is
   * left, each silence gets a new version ending a step later (at most at the hold's limit). A
   * failure leaves the ack as it is; the next round tries again while the silence still runs.
   */
  private async extendHolds(): Promise<void> {
    const step = this.opts.holdStepMs;
    if (!step) return;
    for (const g of await this.store.acknowledged()) {
      const ack = g.ack!;
      const now = this.clock.now().getTime();
      if (g.status !== 'firing' || !ack.holdUntil || ack.until.getTime() <= now || ack.until.getTime() >= ack.holdUntil.getTime()) continue;
      if (ack.until.getTime() - now > step / 2) continue;
      const until = new Date(Math.min(now + step, ack.holdUntil.getTime()));
      const replaced: { from: string; to: string }[] = [];
      try {
        const labelsOf = new Map(g.alerts.map((a) => [a.fingerprint, a.labels]));
        for (const s of await this.store.activeSilences(g.id)) {
          const current = await this.am.getSilence(s.silenceId);
          // Same id, same start and matchers: Alertmanager updates it in place when it can.
          const silenceId = await this.am.createSilence({
            id: s.silenceId,
            matchers: labelsOf.has(s.fingerprint) ? exactMatchers(labelsOf.get(s.fingerprint)!) : current.matchers,
            startsAt: new Date(Date.parse(current.startsAt)),
            endsAt: until,
            createdBy: current.createdBy,
            comment: current.comment,
          });
          if (silenceId !== s.silenceId) replaced.push({ from: s.silenceId, to: silenceId });
        }
      } catch (err) {
        this.log.warn({ err: (err as Error).message, group: g.id }, 'could not extend a held acknowledgement yet; retrying at the next round');
        // Alertmanager already replaced these: keep following them.
        await this.store.replaceSilences(replaced);
        continue;
      }
      await this.store.replaceSilences(replaced);
      await this.store.recordExtension(g.id, until, this.clock.now());
      if (this.opts.audit) {
        await this.opts.audit.record({
          at: this.clock.now(),
          actor: systemActor,
          command: 'ack extend',
          args: { alert: String(g.id), until: until.toISOString(), by: ack.by, replacedSilences: replaced.length },
          outcome: 'ok',
          durationMs: 0,
        });
      }
      this.log.info({ group: g.id, by: ack.by, until: until.toISOString(), newSilences: replaced.length }, 'held acknowledgement extended');
      this.notify(await this.group(g.id));
    }
  }

  private notify(group: AlertGroupView): void {
    for (const n of this.notifiers) {
      Promise.resolve()
        .then(() => n.groupChanged(group))
        .catch((err: unknown) => this.log.error({ err, group: group.id }, 'alert notifier failed'));
    }
  }

  private async expireQuietly(ids: string[], why: string): Promise<void> {
    for (const id of ids) {
      try {
        await this.am.expireSilence(id);
      } catch (err) {
        this.log.warn({ err, silence: id, why }, 'could not expire a silence; it ends at its own time');
      }
    }
  }
}

/** Alertmanager still lists this alert, in the same firing episode, not ended. */
function stillFiring(listed: AmAlert | undefined, startsAt: Date, now: Date): boolean {
  if (!listed || Date.parse(listed.startsAt) !== startsAt.getTime()) return false;
  const endsAt = Date.parse(listed.endsAt);
  return !Number.isFinite(endsAt) || endsAt <= 0 || endsAt > now.getTime();
}
