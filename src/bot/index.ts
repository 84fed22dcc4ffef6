/**
 * The Matrix bot (design §2.2): joins the configured rooms only, accepts `!lab …` messages into a
 * durable inbox, runs them through the command registry and answers through the outbox.
 *
 * matrix-bot-sdk saves the sync token before handlers run and does not await listeners. Here the
 * listener starts each event's inbox write while the sync is emitted, and the token is saved only
 * after the batch was emitted (persistTokenAfterSync) AND every one of those writes has finished
 * (InboxWrites, sync-storage.ts), so a crash neither loses a command nor, thanks to the
 * processed-event ids, runs one twice. A first sync replays history: events from before the bot's
 * first start, or older than MAX_EVENT_AGE_MS, are never run.
 */
import type { Clock } from '../core/clock.ts';
import { retry, type BackoffPolicy } from '../core/backoff.ts';
import type { MatrixConfig } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import type { IdentityStore } from '../ops/identity/store.ts';
import type { Registry } from '../ops/registry.ts';
import type { AlertGroupView, AlertService } from '../ops/alerts/index.ts';
import type { OpsEvents } from '../ops/events/index.ts';
import type { Transactions } from '../ops/storage.ts';
import type { LabdModule } from '../ops/module.ts';
import { AlertMessages } from './alert-messages.ts';
import { AlertRoom } from './alert-room.ts';
import { EventAnnouncer } from './announce.ts';
import type { AlertMessageStore } from './alert-store.ts';
import { CommandHandler, type MatrixLinkLookup } from './handler.ts';
import { DirectNotices } from './direct.ts';
import { OutboxSender } from './outbox.ts';
import { loadMatrixSdk } from './sdk.ts';
import type { BotStore, InboxRow, RoomEvent } from './store.ts';
import { SenderQueues } from './sender-queues.ts';
import { InboxWrites, StoreSyncStorage } from './sync-storage.ts';

/** Commands older than this when they arrive (e.g. after a long outage) are not run. */
export const MAX_EVENT_AGE_MS = 60 * 60 * 1000;
/** Reaching the homeserver at start: 1 s, 2 s, 4 s … at most 30 s apart. */
const CONNECT_RETRY: BackoffPolicy = { baseMs: 1000, maxMs: 30000 };

export interface MatrixBot {
  stop(): Promise<void>;
}

export interface MatrixBotDeps {
  config: MatrixConfig;
  /** Notices to one person (CRM reminders): the outbox wakes them once the bot runs. */
  direct?: DirectNotices;
  registry: Registry;
  /** The inbox, outbox, confirmations and small values. */
  store: BotStore;
  /** The alerts room's messages. */
  messages: AlertMessageStore;
  /** One transaction over both stores: an alert message changes together with its outbox row. */
  transactions: Transactions;
  identities: IdentityStore;
  /** Matrix ids their owners linked to labd users (`!lab link`), read before matrix.userMap. */
  links?: MatrixLinkLookup;
  alerts: AlertService;
  events: OpsEvents;
  /**
   * How often the leader's outbox looks for rows when it has none (default 60 s): other replicas
   * queue alert messages into the shared database without waking it (several replicas: a few seconds).
   */
  outboxIdlePollMs?: number;
  /** The time the bot reads (confirmation windows). */
  clock: Clock;
  log: Logger;
}

/** The bot as a module: one background job, started and stopped with labd. */
export function matrixBotModule(deps: MatrixBotDeps): LabdModule & { direct: DirectNotices } {
  let bot: Promise<MatrixBot | undefined> | undefined;
  const direct =
    deps.direct ??
    new DirectNotices({
      homeserverUrl: deps.config.homeserverUrl,
      accessToken: deps.config.accessToken,
      store: deps.store,
      userMap: deps.config.userMap,
      links: deps.links,
      log: deps.log.child({ component: 'matrix' }),
    });
  // Every replica takes webhooks and `ack`s; only the leader runs the bot. A change stored on another
  // replica is queued there, into the database's outbox (the message and its outbox row in one
  // transaction, one replica at a time per group), and the leader's outbox sender posts it.
  let leading = false;
  const followerRoom = deps.config.alertsRoom ? followerAlertRoom(deps) : undefined;
  let removeFollower: (() => void) | undefined;
  return {
    name: 'matrix',
    direct,
    jobs: [
      {
        name: 'matrix bot',
        // The sync loop and the outbox: one bot for the lab, on the leader.
        singleton: true,
        start: () => {
          leading = true;
          bot = startMatrixBot({ ...deps, direct }).catch((err: unknown) => {
            deps.log.error({ err }, 'matrix: the bot could not start');
            return undefined;
          });
        },
        stop: async () => {
          await (await bot)?.stop();
          leading = false;
        },
      },
      ...(followerRoom
        ? [
            {
              name: 'matrix alert messages',
              start: () => {
                removeFollower = deps.alerts.addNotifier({ groupChanged: (g) => (leading ? undefined : followerRoom(g)) });
              },
              stop: () => removeFollower?.(),
            },
          ]
        : []),
    ],
  };
}

/**
 * What a replica that does not run the bot does with an alert group it changed: queue the group's
 * message in the alerts room it knows (its id from config or the leader's join), for the leader to send.
 * Before any leader joined the room nothing is queued: the leader brings every message up to date when it does.
 */
function followerAlertRoom(deps: MatrixBotDeps): (group: AlertGroupView) => Promise<void> {
  const log = deps.log.child({ component: 'matrix' });
  const messages = new AlertMessages({ messages: deps.messages, outbox: deps.store, transactions: deps.transactions });
  // The sender is another process: its in-flight row is unknown here, and queue() checks after a rewrite.
  const room = new AlertRoom({ config: deps.config, alerts: deps.alerts, messages, store: deps.store, log, inFlight: () => undefined, kick: () => {} });
  const alertsRoom = deps.config.alertsRoom!;
  return async (group) => {
    try {
      room.roomId ??= alertsRoom.startsWith('!') ? alertsRoom : await deps.store.getState(`alertsRoom:${alertsRoom}`);
    } catch (err) {
      log.warn({ err, group: group.id }, 'matrix: could not read the alerts room id; the leader queues this message when it catches up');
      return;
    }
    if (room.roomId) await room.groupChanged(group);
  };
}

export async function startMatrixBot(o: MatrixBotDeps): Promise<MatrixBot> {
  const log = o.log.child({ component: 'matrix' });
  const { sdk, encryption, cryptoError } = loadMatrixSdk();
  // Said once, at info: most labs' bot rooms are unencrypted, and a warning at every start is noise.
  if (!encryption) log.info({ reason: cryptoError }, 'matrix: no end-to-end encryption (the native crypto module is not installed): unencrypted rooms only');
  sdk.LogService.setLogger({
    trace: () => {},
    debug: () => {},
    info: (module: string, ...args: unknown[]) => log.debug({ module }, args.map(String).join(' ')),
    warn: (module: string, ...args: unknown[]) => log.warn({ module }, args.map(String).join(' ')),
    error: (module: string, ...args: unknown[]) => log.warn({ module }, args.map(String).join(' ')),
  });
  sdk.LogService.setLevel(sdk.LogLevel.INFO);
  // Every failed request is reported by the code that made it; the SDK's per-request log is noise.
  sdk.LogService.muteModule('MatrixHttpClient');

  const { store } = o;
  const messages = new AlertMessages({ messages: o.messages, outbox: store, transactions: o.transactions });
  const served = new Set<string>();
  if (!(await store.getState('firstStart'))) await store.setState('firstStart', String(o.clock.now().getTime()));
  const firstStart = Number(await store.getState('firstStart'));
  const inbox = new InboxWrites();
  const client = new sdk.MatrixClient(o.config.homeserverUrl, o.config.accessToken, new StoreSyncStorage(store, inbox));
  (client as unknown as { persistTokenAfterSync: boolean }).persistTokenAfterSync = true;
  const outbox = new OutboxSender({
    homeserverUrl: o.config.homeserverUrl,
    accessToken: o.config.accessToken,
    store,
    clock: o.clock,
    log,
    onSent: (row, eventId) => messages.delivered(row.txnId, eventId),
    idlePollMs: o.outboxIdlePollMs,
  });
  if (o.direct) o.direct.kick = () => outbox.kick();
  const handler = new CommandHandler({
    config: o.config,
    registry: o.registry,
    store,
    identities: o.identities,
    links: o.links,
    clock: o.clock,
    log,
    kick: () => outbox.kick(),
  });
  let alertRoom: AlertRoom | undefined;
  let removeNotifier: (() => void) | undefined;
  if (o.config.alertsRoom) {
    const alerts = o.alerts;
    alertRoom = new AlertRoom({ config: o.config, alerts, messages, store, handler, log, inFlight: () => outbox.inFlight, kick: () => outbox.kick() });
    handler.alerts = alertRoom;
    removeNotifier = alerts.addNotifier(alertRoom);
  }
  const alertsRoomKey = `alertsRoom:${o.config.alertsRoom}`;
  // Alerts queue even while the homeserver is down: the room id is known from config or an earlier join.
  const knownAlertsRoom = o.config.alertsRoom?.startsWith('!') ? o.config.alertsRoom : await store.getState(alertsRoomKey);
  if (alertRoom && knownAlertsRoom) {
    served.add(knownAlertsRoom);
    void alertRoom.setRoom(knownAlertsRoom);
  }

  let stopped = false;
  const connecting = new AbortController();
  let selfId = '';
  const queues = new SenderQueues(async (listed) => {
    if (stopped) return;
    // Read again: the list this row came from may predate its run by an earlier pass.
    const row: InboxRow | undefined = await store.event(listed.eventId);
    if (row?.state !== 'pending') return;
    try {
      await handler.handle(row);
    } catch (err) {
      log.error({ err, eventId: row.eventId }, 'matrix: handling an event failed');
      await store.finish(row.eventId).catch((e: unknown) => log.error({ err: e, eventId: row.eventId }, 'matrix: could not mark an event done'));
    }
    outbox.kick();
  });
  // Hands every pending inbox event to its sender's queue (events already queued are skipped); one pass
  // at a time, and a call during a pass makes another pass (the flag is read and `draining` cleared in one step).
  let draining: Promise<void> | undefined;
  let drainAgain = false;
  const drain = (): void => {
    if (stopped) return;
    drainAgain = true;
    if (draining) return;
    draining = (async () => {
      try {
        while (drainAgain && !stopped) {
          drainAgain = false;
          for (const row of await store.pending()) if (!stopped) queues.add(row);
        }
      } catch (err) {
        log.error({ err }, 'matrix: could not read the inbox');
      } finally {
        draining = undefined;
      }
    })();
  };

  client.on('room.event', (roomId: string, event: RoomEvent) => {
    if (stopped || !served.has(roomId) || event.sender === selfId) return;
    // Reactions confirm commands (✅) and acknowledge alerts; redactions take an acknowledgement back (alerts room).
    const wanted = event.type === 'm.room.message' || event.type === 'm.reaction' || (roomId === alertRoom?.roomId && event.type === 'm.room.redaction');
    if (!wanted) return;
    const age = o.clock.now().getTime() - event.origin_server_ts;
    if (event.origin_server_ts < firstStart || age > MAX_EVENT_AGE_MS) {
      log.debug({ eventId: event.event_id, age }, 'matrix: ignoring an event from before the bot served this room or too old to act on');
      return;
    }
    // Registered before this listener returns, so the sync token waits for the write (sync-storage.ts).
    inbox.track(store.accept(roomId, event)).then(
      (fresh) => fresh && drain(),
      (err: unknown) =>
        log.error(
          { err, eventId: event.event_id },
          'matrix: could not store an event in the inbox; the sync token is no longer saved, so a restart fetches it again',
        ),
    );
  });
  client.on('room.invite', (roomId: string) => log.info({ roomId }, 'matrix: ignoring an invite to a room that is not configured'));

  const connect = async () => {
    await retry(
      async () => {
        if (stopped) return;
        selfId = await client.getUserId();
        for (const room of o.config.rooms) served.add(await client.joinRoom(room));
        if (alertRoom && o.config.alertsRoom) {
          const alertsRoomId = await client.joinRoom(o.config.alertsRoom);
          served.add(alertsRoomId);
          await store.setState(alertsRoomKey, alertsRoomId);
          if (alertRoom.roomId !== alertsRoomId) void alertRoom.setRoom(alertsRoomId);
        }
        await client.start({ room: { rooms: [...served], timeline: { limit: 50 } }, presence: { types: [] }, account_data: { types: [] } });
        log.info({ user: selfId, rooms: [...served], encryption }, 'matrix bot started');
      },
      {
        policy: CONNECT_RETRY,
        signal: connecting.signal,
        onRetry: (err, _n, retryInMs) => log.warn({ error: (err as Error)?.message ?? String(err), retryInMs }, 'matrix: cannot reach the homeserver yet'),
      },
    ).catch(() => undefined /* stopped */);
  };

  for (const row of await store.interrupted()) await handler.reportInterrupted(row);
  outbox.start();
  alertRoom?.startEscalation();
  // Ops events go to matrix.eventsRoom, else the alerts room; neither set: not announced.
  const announcer =
    o.config.eventsRoom || alertRoom
      ? new EventAnnouncer({
          store,
          events: o.events,
          log,
          fallbackRoomId: () => alertRoom?.roomId,
          eventsRoom: o.config.eventsRoom,
          joinRoom: (room) => client.joinRoom(room),
          kick: () => outbox.kick(),
        })
      : undefined;
  const announcing = announcer?.start().catch((err: unknown) => log.error({ err }, 'matrix: the ops event announcer could not start'));
  drain();
  void connect();

  return {
    async stop() {
      stopped = true;
      connecting.abort();
      removeNotifier?.();
      await alertRoom?.stop();
      await announcing;
      await announcer?.stop();
      client.stop();
      await inbox.idle();
      await draining;
      await queues.idle();
      await outbox.stop();
    },
  };
}
