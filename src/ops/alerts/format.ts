/** How groups read in tables and JSON (the same fields on every surface). */
import { formatDuration } from '../../core/duration.ts';
import type { AlertGroupView } from './view.ts';

export function groupState(g: AlertGroupView): 'firing' | 'acknowledged' | 'resolved' {
  if (g.status === 'resolved') return 'resolved';
  return g.ack ? 'acknowledged' : 'firing';
}

export function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** A one-line summary: the common summary annotation, else the first alert's, else its alertname. */
export function groupSummary(g: AlertGroupView): string {
  const first = g.alerts.find((a) => a.status === g.status) ?? g.alerts[0];
  return (
    g.commonAnnotations.summary ??
    first?.annotations.summary ??
    g.commonAnnotations.description ??
    first?.annotations.description ??
    first?.labels.alertname ??
    ''
  );
}

export function ago(then: Date, now: Date): string {
  const seconds = Math.max(0, (now.getTime() - then.getTime()) / 1000);
  return `${formatDuration(seconds)} ago`;
}

const minute = (d: Date) => d.toISOString().slice(0, 16).replace('T', ' ') + 'Z';

export function groupRow(g: AlertGroupView, now: Date) {
  const firing = g.alerts.filter((a) => a.status === 'firing').length;
  const since = g.status === 'firing' ? g.firingSince : g.resolvedAt;
  return {
    id: g.id,
    state: groupState(g),
    group: labelText(g.groupLabels) || labelText(g.commonLabels) || g.groupKey,
    summary: groupSummary(g),
    alerts: `${firing}/${g.alerts.length}`,
    since: since ? ago(since, now) : '',
    ack: g.ack ? (g.ack.holdUntil ? `${g.ack.by} while firing (until ${minute(g.ack.holdUntil)} at most)` : `${g.ack.by} until ${minute(g.ack.until)}`) : '',
  };
}

export function groupJson(g: AlertGroupView) {
  return {
    id: g.id,
    state: groupState(g),
    status: g.status,
    groupKey: g.groupKey,
    receiver: g.receiver,
    groupLabels: g.groupLabels,
    commonLabels: g.commonLabels,
    commonAnnotations: g.commonAnnotations,
    summary: groupSummary(g),
    externalUrl: g.externalUrl,
    firstSeenAt: g.firstSeenAt.toISOString(),
    changedAt: g.changedAt.toISOString(),
    firingSince: g.firingSince?.toISOString() ?? null,
    resolvedAt: g.resolvedAt?.toISOString() ?? null,
    ack: g.ack
      ? {
          by: g.ack.by,
          at: g.ack.at.toISOString(),
          until: g.ack.until.toISOString(),
          comment: g.ack.comment,
          silenceIds: g.ack.silenceIds,
          hold: g.ack.holdUntil ? { until: g.ack.holdUntil.toISOString(), extensions: g.ack.extensions } : null,
        }
      : null,
    alerts: g.alerts.map((a) => ({
      fingerprint: a.fingerprint,
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt.toISOString(),
      endsAt: a.endsAt?.toISOString() ?? null,
      generatorUrl: a.generatorUrl,
      silenced: a.silenced,
    })),
  };
}
