/**
 * The daily reminder: once per UTC day, at crm.remindAt, each user with someone to catch up with
 * (overdue stay-in-touch) or a birthday today gets one notification. The day is recorded per
 * owner after the notification went out, so a restart neither skips nor repeats it; a failed
 * delivery is tried again at the next check.
 */
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { dueList } from './commands.ts';
import type { CrmStore } from './store.ts';

export interface ReminderNotice {
  title: string;
  body: string;
  type: 'info';
}

export interface ReminderDeps {
  store: CrmStore;
  clock: Clock;
  log: Logger;
  /** HH:MM, UTC. */
  remindAt: string;
  notify(notice: ReminderNotice): Promise<void>;
}

/** One check: sends today's reminders that are due and not yet sent. Returns how many went out. */
export async function sendReminders(deps: ReminderDeps): Promise<number> {
  const now = deps.clock.now();
  const hhmm = now.toISOString().slice(11, 16);
  if (hhmm < deps.remindAt) return 0;
  const day = now.toISOString().slice(0, 10);
  let sent = 0;
  for (const owner of await deps.store.unreminded(day)) {
    const due = (await dueList(deps.store, owner.ownerId, now, 0)).filter((d) => d.kind === 'overdue' || (d.kind === 'birthday' && d.inDays === 0));
    if (due.length) {
      const people = new Set(due.map((d) => d.id)).size;
      await deps.notify({
        title: `labd: ${people} ${people === 1 ? 'person' : 'people'} to catch up with (${owner.name})`,
        body: due.map((d) => `${d.name}: ${d.why}`).join('\n'),
        type: 'info',
      });
      sent++;
    }
    await deps.store.markReminded(owner.ownerId, day);
  }
  return sent;
}
