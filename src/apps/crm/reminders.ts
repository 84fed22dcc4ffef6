/**
 * The daily reminder: once per UTC day, at crm.remindAt, each user with someone to catch up with
 * (overdue stay-in-touch) or a birthday today gets one notice, through the channels labd has for
 * them: the Matrix bot as a direct chat (or the room they chose with `crm remind --room`), and
 * Apprise when crm.remindersApprise is set (tagged with the user's name, so the operator's Apprise
 * configuration sends each user's reminder to that user's own services only). The day is recorded
 * per owner once every channel took the notice, so a restart neither skips nor repeats it; a failed
 * delivery is tried again at the next check (the Matrix notice has a transaction id per user and day,
 * so trying again never sends it twice), and so is a user with nothing due yet.
 */
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { dueList } from './commands.ts';
import type { CrmStore, ReminderSettings } from './store.ts';

export interface ReminderNotice {
  title: string;
  body: string;
  type: 'info';
}

/** A way to reach one labd user. */
export interface ReminderChannel {
  name: 'matrix' | 'apprise';
  /**
   * Sends (or durably queues) the notice for `user`; false when this channel has no address for
   * them (no Matrix account linked). `key` is the same for every attempt of one reminder.
   */
  send(user: string, notice: ReminderNotice, o: { key: string; room: string | null }): Promise<boolean>;
}

export interface ReminderDeps {
  store: CrmStore;
  clock: Clock;
  log: Logger;
  /** HH:MM, UTC. */
  remindAt: string;
  channels: ReminderChannel[];
}

function wanted(channel: ReminderChannel, settings: ReminderSettings): boolean {
  return settings.via === 'auto' || settings.via === channel.name;
}

/** One check: sends today's reminders that are due and not yet sent. Returns how many users got one. */
export async function sendReminders(deps: ReminderDeps): Promise<number> {
  const now = deps.clock.now();
  const hhmm = now.toISOString().slice(11, 16);
  if (hhmm < deps.remindAt) return 0;
  const day = now.toISOString().slice(0, 10);
  let sent = 0;
  for (const owner of await deps.store.unreminded(day)) {
    if (owner.via === 'off') continue;
    const channels = deps.channels.filter((c) => wanted(c, owner));
    if (!channels.length) continue;
    const due = (await dueList(deps.store, owner.ownerId, now, 0)).filter((d) => d.kind === 'overdue' || (d.kind === 'birthday' && d.inDays === 0));
    if (!due.length) continue;
    const people = new Set(due.map((d) => d.id)).size;
    const notice: ReminderNotice = {
      title: `labd: ${people} ${people === 1 ? 'person' : 'people'} to catch up with (${owner.name})`,
      body: due.map((d) => `${d.name}: ${d.why}`).join('\n'),
      type: 'info',
    };
    let reached = 0;
    for (const channel of channels) {
      if (await channel.send(owner.name, notice, { key: `crm-reminder:${owner.ownerId}:${day}`, room: owner.room })) reached++;
    }
    if (!reached) {
      deps.log.debug({ user: owner.name }, 'crm reminder: no channel reaches this user');
      continue;
    }
    sent++;
    // Only a notice sent counts for the day: someone who becomes due later today still gets one.
    await deps.store.markReminded(owner.ownerId, day);
  }
  return sent;
}
