/** Builds `/sync` responses from the room store for one user, a `since` position and a filter. */
import type { MatrixEvent, Room, RoomStore } from './rooms.ts';

export interface SyncFilter {
  room?: { rooms?: string[]; not_rooms?: string[]; timeline?: { limit?: number; types?: string[]; not_types?: string[] } };
}

export interface SyncResponse {
  next_batch: string;
  rooms: { join: Record<string, unknown>; invite: Record<string, unknown>; leave: Record<string, unknown> };
  account_data: { events: unknown[] };
  presence: { events: unknown[] };
  to_device: { events: unknown[] };
}

const DEFAULT_TIMELINE_LIMIT = 10;

export function parseSince(since: string | undefined): number | undefined {
  if (since === undefined || since === '') return undefined;
  const m = /^s(\d+)$/.exec(since);
  return m ? Number(m[1]) : NaN;
}

function withAge(event: MatrixEvent, now: number): MatrixEvent {
  return { ...event, unsigned: { ...event.unsigned, age: Math.max(0, now - event.origin_server_ts) } };
}

function typeAllowed(type: string, f: SyncFilter): boolean {
  const t = f.room?.timeline;
  if (t?.types && !t.types.some((p) => (p.endsWith('*') ? type.startsWith(p.slice(0, -1)) : p === type))) return false;
  if (t?.not_types?.some((p) => (p.endsWith('*') ? type.startsWith(p.slice(0, -1)) : p === type))) return false;
  return true;
}

function roomAllowed(room: Room, f: SyncFilter): boolean {
  if (f.room?.rooms && !f.room.rooms.includes(room.roomId)) return false;
  if (f.room?.not_rooms?.includes(room.roomId)) return false;
  return true;
}

/** Returns the response and whether it carries anything (an empty incremental sync long-polls). */
export function buildSync(store: RoomStore, userId: string, since: number | undefined, filter: SyncFilter): { response: SyncResponse; empty: boolean } {
  const now = Date.now();
  const limit = filter.room?.timeline?.limit ?? DEFAULT_TIMELINE_LIMIT;
  const response: SyncResponse = {
    next_batch: `s${store.position}`,
    rooms: { join: {}, invite: {}, leave: {} },
    account_data: { events: [] },
    presence: { events: [] },
    to_device: { events: [] },
  };
  let empty = true;
  for (const room of store.rooms.values()) {
    if (!roomAllowed(room, filter)) continue;
    const membership = store.membership(room, userId);
    const fresh = room.timeline.filter((s) => since === undefined || s.stream > since);
    const memberChange = fresh.find((s) => s.event.type === 'm.room.member' && s.event.state_key === userId);
    if (membership === 'join') {
      if (since !== undefined && !fresh.length) continue;
      // A user who joined in this range sees the room as at an initial sync.
      const visible = since === undefined || memberChange ? room.timeline : fresh;
      const events = visible.filter((s) => typeAllowed(s.event.type, filter));
      const timeline = events.slice(-limit);
      const first = timeline[0]?.stream ?? store.position + 1;
      const stateBefore = [...room.state.values()].filter((e) => !timeline.some((s) => s.event.event_id === e.event_id));
      response.rooms.join[room.roomId] = {
        timeline: { events: timeline.map((s) => withAge(s.event, now)), limited: events.length > timeline.length, prev_batch: `s${first - 1}` },
        state: { events: since === undefined || memberChange ? stateBefore.map((e) => withAge(e, now)) : [] },
        account_data: { events: [] },
        ephemeral: { events: [] },
        unread_notifications: { notification_count: 0, highlight_count: 0 },
      };
      if (timeline.length) empty = false;
    } else if (membership === 'invite' && (since === undefined || memberChange)) {
      const stripped = [...room.state.values()]
        .filter(
          (e) =>
            ['m.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.canonical_alias'].includes(e.type) ||
            (e.type === 'm.room.member' && e.state_key === userId),
        )
        .map((e) => ({ type: e.type, state_key: e.state_key, sender: e.sender, content: e.content }));
      response.rooms.invite[room.roomId] = { invite_state: { events: stripped } };
      empty = false;
    } else if ((membership === 'leave' || membership === 'ban') && since !== undefined && memberChange) {
      response.rooms.leave[room.roomId] = {
        timeline: { events: fresh.filter((s) => s.stream <= memberChange.stream).map((s) => withAge(s.event, now)), limited: false },
        state: { events: [] },
      };
      empty = false;
    }
  }
  return { response, empty };
}
