/**
 * An alert group's message in the alerts room: state, the group's alerts (labels, summary, since),
 * the acknowledgement, and how to acknowledge. HTML (every value escaped) plus a plain body. Times
 * are absolute, so the same group always renders the same text and an unchanged group is not edited.
 * Matrix events are limited to 64 KiB: the table and its cells are cut to fit.
 */
import { groupState, groupSummary, labelText } from '../ops/alerts/format.ts';
import type { AlertGroupView } from '../ops/alerts/index.ts';
import { html, joinHtml, type SafeHtml } from '../core/html.ts';
import { valueText, type MatrixBody } from './render.ts';

export const MAX_ALERT_ROWS = 20;
const MAX_CELL = 160;

const STATE_COLOURS = { firing: '#d0021b', acknowledged: '#f5a623', resolved: '#417505' } as const;

function cut(text: string, max = MAX_CELL): string {
  const chars = [...valueText(text)];
  return chars.length > max ? chars.slice(0, max - 1).join('') + '…' : chars.join('');
}

const time = (d: Date | null) => (d ? d.toISOString().slice(0, 16).replace('T', ' ') + 'Z' : '-');

function pill(mxid: string): SafeHtml {
  return html`<a href="https://matrix.to/#/${encodeURIComponent(mxid)}">${mxid}</a>`;
}

export interface AlertMessage extends MatrixBody {
  /** Users the message mentions (notified on the post only: edits do not notify). */
  mentions: string[];
}

export function renderAlertGroup(g: AlertGroupView, oncall: string[]): AlertMessage {
  const state = groupState(g);
  const name = cut(labelText(g.groupLabels) || labelText(g.commonLabels) || g.groupKey, 300);
  const summary = cut(groupSummary(g), 300);
  const firing = g.alerts.filter((a) => a.status === 'firing').length;
  // Firing alerts first: they are what the reader must act on.
  const shown = [...g.alerts].sort((a, b) => (a.status === b.status ? 0 : a.status === 'firing' ? -1 : 1)).slice(0, MAX_ALERT_ROWS);
  const more = g.alerts.length - shown.length;
  const mentions = state === 'resolved' ? [] : oncall;

  const title = `${state.toUpperCase()}: alert group ${g.id} (${name}), ${firing}/${g.alerts.length} firing`;
  const text: string[] = [title];
  if (summary) text.push(summary);
  const rows = shown.map((a) => ({
    status: a.status,
    labels: cut(labelText(a.labels)),
    summary: cut(a.annotations.summary ?? a.annotations.description ?? ''),
    since: time(a.status === 'firing' ? a.startsAt : a.endsAt),
  }));
  for (const r of rows) text.push(`- ${r.status} ${r.labels}${r.summary ? ` — ${r.summary}` : ''} (since ${r.since})`);
  if (more > 0) text.push(`… and ${more} more`);
  const parts: SafeHtml[] = [
    html`<p><strong><span data-mx-color="${STATE_COLOURS[state]}">${state.toUpperCase()}</span></strong>: alert group ${g.id} (<code>${name}</code>), ${firing}/${g.alerts.length} firing</p>`,
  ];
  if (summary) parts.push(html`<p>${summary}</p>`);
  parts.push(
    html`<table><thead><tr><th>status</th><th>labels</th><th>summary</th><th>since</th></tr></thead><tbody>${rows.map(
      (r) => html`<tr><td>${r.status}</td><td><code>${r.labels}</code></td><td>${r.summary}</td><td>${r.since}</td></tr>`,
    )}</tbody></table>`,
  );
  if (more > 0) parts.push(html`<p><em>… and ${more} more</em></p>`);
  if (g.ack) {
    const comment = g.ack.comment ? cut(g.ack.comment, 500) : '';
    text.push(`Acknowledged by ${g.ack.by} until ${time(g.ack.until)}${comment ? `: ${comment}` : ''}`);
    parts.push(html`<p>Acknowledged by <strong>${g.ack.by}</strong> until ${time(g.ack.until)}${comment ? `: ${comment}` : ''}</p>`);
  } else if (state === 'firing') {
    text.push('Reply "ack [DURATION] [COMMENT]" or react ✅ / 👀 to acknowledge.');
    parts.push(html`<p>Reply <code>ack [DURATION] [COMMENT]</code> or react ✅ / 👀 to acknowledge.</p>`);
  }
  if (state === 'resolved') {
    text.push(`Resolved at ${time(g.resolvedAt)}`);
    parts.push(html`<p>Resolved at ${time(g.resolvedAt)}</p>`);
  }
  if (mentions.length) {
    text.push(mentions.join(' '));
    parts.push(html`<p>${joinHtml(mentions.map(pill), ' ')}</p>`);
  }
  return { text: text.join('\n'), html: joinHtml(parts).value, mentions };
}

/** The follow-up for a firing group nobody acknowledged in time. */
export function renderEscalation(g: AlertGroupView, targets: string[], after: string): MatrixBody {
  const name = cut(labelText(g.groupLabels) || labelText(g.commonLabels) || g.groupKey, 300);
  return {
    text: `${targets.join(' ')} alert group ${g.id} (${name}) has been firing for more than ${after} and nobody acknowledged it.`,
    html: html`${joinHtml(targets.map(pill), ' ')} alert group ${g.id} (<code>${name}</code>) has been firing for more than ${after} and nobody acknowledged it.`
      .value,
  };
}
