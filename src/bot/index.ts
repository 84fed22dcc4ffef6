/**
 * The Matrix bot (design §2.2): joins the configured rooms only, accepts `!lab …` messages into a
 * durable inbox, runs them through the command registry and answers through the outbox.
 *
 * matrix-bot-sdk saves the sync token before handlers run and does not await listeners. Here the
 * listener stores each event synchronously (better-sqlite3) and the token is saved only after the
 * batch was emitted (persistTokenAfterSync), so a crash neither loses a command nor, thanks to the
 * processed-event ids, runs one twice. A first sync replays history: events from before the bot's
 * first start, or older than MAX_EVENT_AGE_MS, are never run.
 */
import { retry, type BackoffPolicy } from '../core/backoff.ts';
import type { MatrixConfig } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import type { Db } from '../db/client.ts';
import type { IdentityStore } from '../ops/identity/store.ts';
import type { Registry } from '../ops/registry.ts';
import type { AlertService } from '../ops/alerts/index.ts';
import type { OpsEvents } from '../ops/events/index.ts';
import type { LabdModule } from '../ops/module.ts';
import { AlertRoom } from './alert-room.ts';
import { EventAnnouncer } from './announce.ts';
import { AlertMessageStore } from './alert-store.ts';
import { CommandHandler } from './handler.ts';
import { DirectNotices } from './direct.ts';
import { OutboxSender } from './outbox.ts';
import { loadMatrixSdk } from './sdk.ts';
import { BotStore, type RoomEvent } from './store.ts';
import { SenderQueues } from './sender-queues.ts';
import { SqliteSyncStorage } from './sync-storage.ts';

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
  db: Db;
  identities: IdentityStore;
  alerts: AlertService;
  events: OpsEvents;
  log: Logger;
}

/** The bot as a module: one background job, started and stopped with labd. */
export function matrixBotModule(deps: MatrixBotDeps): LabdModule & { direct: DirectNotices } {
  let bot: MatrixBot | undefined;
  const direct =
    deps.direct ??
    new DirectNotices({
      homeserverUrl: deps.config.homeserverUrl,
      accessToken: deps.config.accessToken,
      store: new BotStore(deps.db),
      userMap: deps.config.userMap,
      log: deps.log.child({ component: 'matrix' }),
    });
  return {
    name: 'matrix',
    direct,
    jobs: [{ name: 'matrix bot', start: () => void (bot = startMatrixBot({ ...deps, direct })), stop: () => bot?.stop() }],
  };
}

export function startMatrixBot(o: MatrixBotDeps): MatrixBot {
  const log = o.log.child({ component: 'matrix' });
  const { sdk, encryption, cryptoError } = loadMatrixSdk();
  if (!encryption)
    log.warn({ reason: cryptoError }, 'matrix: the native crypto module is not installed, so encrypted rooms are unsupported; serve unencrypted rooms only');
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

  const store = new BotStore(o.db);
  const served = new Set<string>();
  if (!store.getState('firstStart')) store.setState('firstStart', String(Date.now()));
  const firstStart = Number(store.getState('firstStart'));
  const client = new sdk.MatrixClient(o.config.homeserverUrl, o.config.accessToken, new SqliteSyncStorage(store));
  (client as unknown as { persistTokenAfterSync: boolean }).persistTokenAfterSync = true;
  const messages = new AlertMessageStore(o.db);
  const outbox = new OutboxSender({
    homeserverUrl: o.config.homeserverUrl,
    accessToken: o.config.accessToken,
    store,
    log,
    onSent: (row, eventId) => messages.delivered(row.txnId, eventId),
  });
  if (o.direct) o.direct.kick = () => outbox.kick();
  const handler = new CommandHandler({ config: o.config, registry: o.registry, store, identities: o.identities, log, kick: () => outbox.kick() });
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
  const knownAlertsRoom = o.config.alertsRoom?.startsWith('!') ? o.config.alertsRoom : store.getState(alertsRoomKey);
  if (alertRoom && knownAlertsRoom) {
    served.add(knownAlertsRoom);
    alertRoom.setRoom(knownAlertsRoom);
  }

  let stopped = false;
  const connecting = new AbortController();
  let selfId = '';
  const queues = new SenderQueues(async (row) => {
    if (stopped) return;
    try {
      await handler.handle(row);
    } catch (err) {
      log.error({ err, eventId: row.eventId }, 'matrix: handling an event failed');
      store.finish(row.eventId);
    }
    outbox.kick();
  });
  // Hands every pending inbox event to its sender's queue (events already queued are skipped).
  const drain = (): void => {
    if (!stopped) for (const row of store.pending()) queues.add(row);
  };

  client.on('room.event', (roomId: string, event: RoomEvent) => {
    if (stopped || !served.has(roomId) || event.sender === selfId) return;
    // Reactions confirm commands (✅) and acknowledge alerts; redactions take an acknowledgement back (alerts room).
    const wanted = event.type === 'm.room.message' || event.type === 'm.reaction' || (roomId === alertRoom?.roomId && event.type === 'm.room.redaction');
    if (!wanted) return;
    const age = Date.now() - event.origin_server_ts;
    if (event.origin_server_ts < firstStart || age > MAX_EVENT_AGE_MS) {
      log.debug({ eventId: event.event_id, age }, 'matrix: ignoring an event from before the bot served this room or too old to act on');
      return;
    }
    if (store.accept(roomId, event)) drain();
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
          store.setState(alertsRoomKey, alertsRoomId);
          if (alertRoom.roomId !== alertsRoomId) alertRoom.setRoom(alertsRoomId);
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

  for (const row of store.interrupted()) handler.reportInterrupted(row);
  outbox.start();
  alertRoom?.startEscalation();
  // Ops events go to matrix.eventsRoom, else the alerts room; neither set: not announced.
  const announcer =
    o.config.eventsRoom || alertRoom
      ? new EventAnnouncer({
          db: o.db,
          events: o.events,
          log,
          fallbackRoomId: () => alertRoom?.roomId,
          eventsRoom: o.config.eventsRoom,
          joinRoom: (room) => client.joinRoom(room),
          kick: () => outbox.kick(),
        })
      : undefined;
  announcer?.start();
  drain();
  void connect();

  return {
    async stop() {
      stopped = true;
      connecting.abort();
      removeNotifier?.();
      alertRoom?.stop();
      announcer?.stop();
      client.stop();
      await queues.idle();
      await outbox.stop();
    },
  };
}
