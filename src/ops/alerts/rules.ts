/**
 * Who may act on an alert group by a gesture rather than a command (a chat reaction and its
 * redaction): the rules live here, with the alerts, so no front-end keeps its own.
 */
import type { AlertGroupView } from './view.ts';

/** A reaction acknowledges only a firing group nobody acknowledged yet (a second reaction, or someone faster: nothing to do). */
export function reactionMayAck(group: AlertGroupView): boolean {
  return group.status === 'firing' && !group.ack;
}

/** Taking a reaction back undoes only the acknowledgement this user still holds, not someone's later one. */
export function withdrawalMayUnack(group: AlertGroupView, user: string): boolean {
  return !!group.ack && group.ack.by === user;
}
