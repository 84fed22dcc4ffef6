/**
 * The homeserver's data: rooms, their timelines and state, one global stream ordering
 * (what `/sync` `since` tokens point into) and waiters for long-polling syncs.
 */
import { randomBytes } from 'node:crypto';

export interface MatrixEvent {
  event_id: string;
  type: string;
  sender: string;
  room_id: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
  /** Top-level `redacts` (room versions 1-10); also in content for v11 readers. */
  redacts?: string;
  unsigned?: Record<string, unknown>;
}

export interface StoredEvent {
  stream: number;
  event: MatrixEvent;
}

export interface Room {
  roomId: string;
  alias?: string;
  timeline: StoredEvent[];
  /** Current state: `${type}\u0000${stateKey}` → event. */
  state: Map<string, MatrixEvent>;
}

export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Keys of the content that survive a redaction, per event type (spec: redaction algorithm, simplified). */
const KEPT_ON_REDACT: Record<string, string[]> = {
  'm.room.member': ['membership'],
  'm.room.create': ['creator'],
  'm.room.join_rules': ['join_rule'],
  'm.room.power_levels': ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'],
};

export class RoomStore {
  readonly rooms = new Map<string, Room>();
  private stream = 0;
  private waiters = new Set<() => void>();

  constructor(readonly serverName: string) {}

  get position(): number {
    return this.stream;
  }

  newEventId(): string {
    return `$${randomBytes(18).toString('base64url')}`;
  }

  createRoom(creator: string, opts: { alias?: string; roomId?: string } = {}): Room {
    const roomId = opts.roomId ?? `!${randomBytes(9).toString('base64url')}:${this.serverName}`;
    const alias = opts.alias ? (opts.alias.startsWith('#') ? opts.alias : `#${opts.alias}:${this.serverName}`) : undefined;
    const room: Room = { roomId, alias, timeline: [], state: new Map() };
    this.rooms.set(roomId, room);
    this.append(room, { type: 'm.room.create', sender: creator, state_key: '', content: { creator, room_version: '10' } });
    this.append(room, { type: 'm.room.member', sender: creator, state_key: creator, content: { membership: 'join' } });
    this.append(room, {
      type: 'm.room.power_levels',
      sender: creator,
      state_key: '',
      content: { users: { [creator]: 100 }, users_default: 0, events_default: 0, state_default: 50, redact: 50, ban: 50, kick: 50, events: {} },
    });
    this.append(room, { type: 'm.room.join_rules', sender: creator, state_key: '', content: { join_rule: 'public' } });
    if (alias) this.append(room, { type: 'm.room.canonical_alias', sender: creator, state_key: '', content: { alias } });
    return room;
  }

  room(roomId: string): Room {
    const room = this.rooms.get(roomId);
    if (!room) throw new MatrixError(404, 'M_NOT_FOUND', `room ${roomId} not found`);
    return room;
  }

  resolve(idOrAlias: string): Room {
    if (idOrAlias.startsWith('#')) {
      for (const room of this.rooms.values()) if (room.alias === idOrAlias) return room;
      throw new MatrixError(404, 'M_NOT_FOUND', `room alias ${idOrAlias} not found`);
    }
    return this.room(idOrAlias);
  }

  membership(room: Room, userId: string): string | undefined {
    return room.state.get(`m.room.member\u0000${userId}`)?.content.membership as string | undefined;
  }

  joinedRooms(userId: string): Room[] {
    return [...this.rooms.values()].filter((r) => this.membership(r, userId) === 'join');
  }

  /** Adds an event to a room's timeline (and state, for state events) and wakes long-polling syncs. */
  append(room: Room, e: Omit<MatrixEvent, 'event_id' | 'room_id' | 'origin_server_ts'> & { origin_server_ts?: number }): MatrixEvent {
    const event: MatrixEvent = { event_id: this.newEventId(), room_id: room.roomId, origin_server_ts: e.origin_server_ts ?? Date.now(), ...e } as MatrixEvent;
    if (event.type === 'm.room.redaction' && event.redacts) this.redact(room, event);
    room.timeline.push({ stream: ++this.stream, event });
    if (event.state_key !== undefined) room.state.set(`${event.type}\u0000${event.state_key}`, event);
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
    return event;
  }

  findEvent(room: Room, eventId: string): MatrixEvent | undefined {
    return room.timeline.find((s) => s.event.event_id === eventId)?.event;
  }

  private redact(room: Room, redaction: MatrixEvent): void {
    const target = this.findEvent(room, redaction.redacts!);
    if (!target) return;
    const kept = KEPT_ON_REDACT[target.type] ?? [];
    target.content = Object.fromEntries(Object.entries(target.content).filter(([k]) => kept.includes(k)));
    target.unsigned = { ...target.unsigned, redacted_because: redaction };
  }

  /** Resolves when a new event arrives or after `ms`, whichever comes first. */
  waitForEvents(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal.addEventListener('abort', done);
    });
  }
}
