/**
 * The bot's durable inbox with an asynchronous store port (design §5): matrix-bot-sdk emits a
 * sync's events without awaiting the listeners and then saves the sync token, so the token must
 * wait for the inbox writes of those events. A store whose writes complete later than the call
 * (as a remote database's would) shows it: the token is saved only after the write finished, and
 * a write that fails leaves the token where it was, so after a restart the event is fetched and
 * run (once).
 */
import { sqliteHandle } from '../src/db/sqlite-engine.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, describe, test } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { systemClock } from '../src/core/clock.ts';
import { createLogger } from '../src/core/logger.ts';
import { DEFAULT_ROLE_PERMISSIONS } from '../src/core/permissions.ts';
import { migrateDb, openDb } from '../src/db/client.ts';
import { startMatrixBot, type MatrixBot, type MatrixBotDeps } from '../src/bot/index.ts';
import { SqlAlertMessageStore } from '../src/bot/sql-alert-store.ts';
import { SqlBotStore } from '../src/bot/sql-store.ts';
import type { RoomEvent } from '../src/bot/store.ts';
import { createAlertService } from '../src/ops/alerts/index.ts';
import { SqlAlertStore } from '../src/ops/alerts/sql-store.ts';
import { SqlAuditLog } from '../src/ops/audit/sql-store.ts';
import { Backends } from '../src/ops/backends.ts';
import { OpsEvents } from '../src/ops/events/index.ts';
import { SqlOpsEventStore } from '../src/ops/events/sql-store.ts';
import { SqlIdentityStore } from '../src/ops/identity/sql-store.ts';
import { metaModule } from '../src/ops/meta/index.ts';
import { Registry } from '../src/ops/registry.ts';
import { repliesTo, waitFor } from './support/fake-matrix/harness.ts';
import type { MatrixEvent } from './support/fake-matrix/rooms.ts';
import { FakeMatrix } from './support/fake-matrix/server.ts';

/** Lets the event loop run `n` times: long enough for the SDK to finish a sync that needs no I/O. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/**
 * The store on SQLite with an inbox write held for one message body: the write starts, the event loop
 * runs on, then it is completed (or fails). Records the order of inbox writes and sync token saves.
 */
class SlowInboxStore extends SqlBotStore {
  readonly log: string[] = [];
  hold: { body: string; outcome: 'store' | 'fail'; started: () => void } | undefined;

  override async accept(roomId: string, event: RoomEvent): Promise<boolean> {
    const hold = this.hold;
    if (!hold || event.content.body !== hold.body) return super.accept(roomId, event);
    this.hold = undefined;
    this.log.push(`write started: ${hold.body}`);
    hold.started();
    await turns(50);
    if (hold.outcome === 'fail') {
      this.log.push(`write failed: ${hold.body}`);
      throw new Error('the database went away');
    }
    const fresh = await super.accept(roomId, event);
    this.log.push(`write done: ${hold.body}`);
    return fresh;
  }

  override async setState(key: string, value: string | null): Promise<void> {
    if (key === 'syncToken') this.log.push(`token saved: ${value}`);
    return super.setState(key, value);
  }

  /** Waits for the next write of `body` to start. */
  holdNext(body: string, outcome: 'store' | 'fail'): Promise<void> {
    return new Promise((started) => (this.hold = { body, outcome, started }));
  }
}

describe('durable inbox on an asynchronous store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-inbox-'));
  const db = openDb(dir);
  migrateDb(db);
  let fake: FakeMatrix | undefined;
  let bot: MatrixBot | undefined;
  after(async () => {
    await bot?.stop();
    await fake?.stop();
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the sync token waits for the inbox write; a failed write is fetched again after a restart and runs once', async () => {
    fake = await FakeMatrix.start();
    const botUser = fake.addUser('labd');
    const alice = fake.addUser('alice');
    const room = fake.createRoom(alice.userId, { alias: 'ops' });
    const log = createLogger('silent');
    const audit = new SqlAuditLog(sqliteHandle(db));
    const registry = new Registry({ log, clock: systemClock, rolePermissions: DEFAULT_ROLE_PERMISSIONS, audit, backends: new Backends() });
    registry.register(...(metaModule({ version: 'test' }).commands ?? []));
    const config = loadConfig({ LABD_MATRIX_HOMESERVER: fake.url, LABD_MATRIX_TOKEN: botUser.accessToken, LABD_MATRIX_ROOMS: room.alias! }).matrix;
    assert.ok(config.enabled);
    const deps = (store: SqlBotStore): MatrixBotDeps => ({
      config,
      clock: systemClock,
      registry,
      store,
      messages: new SqlAlertMessageStore(sqliteHandle(db)),
      transactions: { write: (fn) => sqliteHandle(db).transaction(() => fn()) },
      identities: new SqlIdentityStore(sqliteHandle(db)),
      alerts: createAlertService({ config: { enabled: false }, store: new SqlAlertStore(sqliteHandle(db)), audit, clock: systemClock, log }),
      events: new OpsEvents(new SqlOpsEventStore(sqliteHandle(db)), systemClock, log),
      log,
    });
    const syncs = () => fake!.requests.filter((q) => q.path.endsWith('/sync') && q.userId === botUser.userId && q.status === 200).length;
    const answered = (e: MatrixEvent) => repliesTo(fake!, botUser, e).length;

    const store = new SlowInboxStore(sqliteHandle(db), systemClock);
    bot = await startMatrixBot(deps(store));
    await waitFor('the bot to join and sync', () => fake!.store.membership(room, botUser.userId) === 'join' && syncs() > 0);

    // A slow write: the token of the sync that carried the message is saved after the write, not before.
    const slowStarted = store.holdNext('!lab version', 'store');
    const first = fake.say(room.roomId, alice.userId, '!lab version');
    await slowStarted;
    await waitFor('the reply to the first message', () => answered(first) > 0);
    const started = store.log.indexOf('write started: !lab version');
    const done = store.log.indexOf('write done: !lab version');
    const tokenAfter = store.log.findIndex((l, i) => i > started && l.startsWith('token saved:'));
    assert.ok(done > started, store.log.join('\n'));
    assert.ok(tokenAfter > done, `no sync token saved between the write's start and its end:\n${store.log.join('\n')}`);

    // A failed write: no token is saved from then on, so what the restart fetches includes the message.
    const failStarted = store.holdNext('!lab help', 'fail');
    const second = fake.say(room.roomId, alice.userId, '!lab help');
    await failStarted;
    await waitFor('the write to fail', () => store.log.includes('write failed: !lab help'));
    await turns(50);
    const failedAt = store.log.indexOf('write failed: !lab help');
    await bot.stop();
    bot = undefined;
    assert.deepEqual(
      store.log.slice(store.log.indexOf('write started: !lab help')).filter((l) => l.startsWith('token saved:')),
      [],
      `the sync token moved past an event the inbox does not hold:\n${store.log.join('\n')}`,
    );
    assert.ok(failedAt >= 0);
    assert.equal(answered(second), 0);

    // Restart on the same database: the message is fetched again and answered; the first is not run again.
    bot = await startMatrixBot(deps(new SqlBotStore(sqliteHandle(db), systemClock)));
    await waitFor('the reply to the message whose write failed', () => answered(second) > 0);
    await turns(50);
    assert.equal(answered(second), 1);
    assert.equal(answered(first), 1, 'the first message ran once');
  });
});
