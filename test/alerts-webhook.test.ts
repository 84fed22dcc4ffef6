/** The webhook's answers Alertmanager's retry logic depends on, and the config's tagged section. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/core/logger.ts';
import { systemClock } from '../src/core/clock.ts';
import { migrateDb, openDb, type Db } from '../src/db/client.ts';
import { unconfiguredAlertmanager } from '../src/ops/alertmanager/unconfigured.ts';
import { AlertService } from '../src/ops/alerts/service.ts';
import { SqlAlertStore } from '../src/ops/alerts/sql-store.ts';
import { sqliteHandle } from '../src/db/sqlite-engine.ts';
import { alertmanagerWebhook } from '../src/ops/alerts/webhook.ts';
import { HttpServer } from '../src/http/server.ts';

const TOKEN = 'a-token-of-sixteen-chars';

function delivery(status: 'firing' | 'resolved', startsAt = '2026-01-01T10:00:00.123456789Z') {
  return {
    version: '4',
    groupKey: '{}:{alertname="Down"}',
    status,
    receiver: 'labd',
    groupLabels: { alertname: 'Down' },
    commonLabels: { alertname: 'Down', job: 'node' },
    commonAnnotations: {},
    externalURL: 'http://am.invalid',
    truncatedAlerts: 0,
    alerts: [
      {
        status,
        labels: { alertname: 'Down', job: 'node' },
        annotations: {},
        startsAt,
        endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-01-01T11:00:00Z',
        generatorURL: '',
        fingerprint: 'abc123',
      },
    ],
  };
}

describe('POST /hooks/alertmanager answers', () => {
  let dir: string;
  let db: Db;
  let server: HttpServer;
  let service: AlertService;
  let url: string;
  const post = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'labd-hook-'));
    db = openDb(dir);
    migrateDb(db);
    const log = createLogger('silent');
    service = new AlertService(new SqlAlertStore(sqliteHandle(db)), unconfiguredAlertmanager, systemClock, log);
    server = new HttpServer(log);
    server.add([alertmanagerWebhook(service, { token: TOKEN, maxBytes: 4096 }, log)]);
    const address = await server.listen('127.0.0.1', 0);
    url = `http://127.0.0.1:${address.port}/hooks/alertmanager`;
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('stores a delivery once; a late firing copy after resolved changes nothing; a new episode is stored', async () => {
    assert.deepEqual(await (await post(delivery('firing'))).json(), { group: 1, stored: 1, duplicates: 0 });
    assert.deepEqual(await (await post(delivery('firing'))).json(), { group: 1, stored: 0, duplicates: 1 });
    assert.deepEqual(await (await post(delivery('resolved'))).json(), { group: 1, stored: 1, duplicates: 0 });
    assert.deepEqual(await (await post(delivery('firing'))).json(), { group: 1, stored: 0, duplicates: 1 });
    assert.equal((await service.store.get(1))!.status, 'resolved');
    assert.deepEqual(await (await post(delivery('firing', '2026-01-02T10:00:00Z'))).json(), { group: 1, stored: 1, duplicates: 0 });
    assert.equal((await service.store.get(1))!.status, 'firing');
  });

  test('a body over the limit is refused with 413', async () => {
    const big = delivery('firing');
    big.commonAnnotations = { description: 'x'.repeat(8000) };
    assert.equal((await post(big)).status, 413);
  });

  test('no token: 401 with a Bearer challenge', async () => {
    const res = await post(delivery('firing'), {});
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
  });

  test('a database failure answers 503, so Alertmanager retries', async () => {
    db.$client.close();
    const res = await post(delivery('firing', '2026-01-03T10:00:00Z'));
    assert.equal(res.status, 503);
  });
});

describe('POST /hooks/alertmanager with a slow store', () => {
  test('answers 200 only once the store has finished storing the delivery', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'labd-hook-slow-'));
    const db = openDb(dir);
    migrateDb(db);
    const sqlite = new SqlAlertStore(sqliteHandle(db));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let ingestCalled!: () => void;
    const called = new Promise<void>((resolve) => (ingestCalled = resolve));
    let stored = false;
    // The port as a remote database would be: the write completes later than the call.
    const slow = Object.assign(Object.create(sqlite) as SqlAlertStore, {
      async ingest(...args: Parameters<SqlAlertStore['ingest']>) {
        ingestCalled();
        await gate;
        const result = await sqlite.ingest(...args);
        stored = true;
        return result;
      },
    });
    const server = new HttpServer(createLogger('silent'));
    server.add([
      alertmanagerWebhook(
        new AlertService(slow, unconfiguredAlertmanager, systemClock, createLogger('silent')),
        { token: TOKEN, maxBytes: 4096 },
        createLogger('silent'),
      ),
    ]);
    const address = await server.listen('127.0.0.1', 0);
    try {
      let answered = false;
      const res = fetch(`http://127.0.0.1:${address.port}/hooks/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(delivery('firing')),
      }).then((r) => ((answered = true), r));
      await called;
      assert.equal(answered, false, 'no answer while the store is still writing');
      release();
      const r = await res;
      assert.equal(stored, true, 'the answer came after the write finished');
      assert.equal(r.status, 200);
      assert.equal((await sqlite.get(1))!.status, 'firing');
    } finally {
      await server.close();
      db.$client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('alertmanager config section', () => {
  test('off by default; fully configured from the environment; half-configured fails with a clear line', () => {
    assert.deepEqual(loadConfig({}).alertmanager, { enabled: false });
    const on = loadConfig({ LABD_ALERTMANAGER_URL: 'http://am:9093', LABD_ALERTMANAGER_WEBHOOK_TOKEN: TOKEN }).alertmanager;
    assert.equal(on.enabled && on.url, 'http://am:9093');
    assert.throws(() => loadConfig({ LABD_ALERTMANAGER_URL: 'http://am:9093' }), /alertmanager\.webhookToken \(LABD_WEBHOOK_TOKEN\)/);
    assert.throws(() => loadConfig({ LABD_ALERTMANAGER_URL: 'ftp://am', LABD_ALERTMANAGER_WEBHOOK_TOKEN: TOKEN }), /alertmanager\.url/);
    assert.throws(() => loadConfig({ LABD_ALERTMANAGER_URL: 'http://am:9093', LABD_ALERTMANAGER_WEBHOOK_TOKEN: 'short' }), /at least 16/);
  });

  test('LABD_WEBHOOK_TOKEN names the webhook token; LABD_ALERTMANAGER_WEBHOOK_TOKEN is its alias; both set and different is an error', () => {
    const url = { LABD_ALERTMANAGER_URL: 'http://am:9093' };
    const byNew = loadConfig({ ...url, LABD_WEBHOOK_TOKEN: TOKEN }).alertmanager;
    assert.equal(byNew.enabled && byNew.webhookToken, TOKEN);
    const byOld = loadConfig({ ...url, LABD_ALERTMANAGER_WEBHOOK_TOKEN: TOKEN }).alertmanager;
    assert.equal(byOld.enabled && byOld.webhookToken, TOKEN);
    const both = loadConfig({ ...url, LABD_WEBHOOK_TOKEN: TOKEN, LABD_ALERTMANAGER_WEBHOOK_TOKEN: TOKEN }).alertmanager;
    assert.equal(both.enabled && both.webhookToken, TOKEN);
    assert.throws(
      () => loadConfig({ ...url, LABD_WEBHOOK_TOKEN: TOKEN, LABD_ALERTMANAGER_WEBHOOK_TOKEN: `${TOKEN}x` }),
      /^Error: config: LABD_WEBHOOK_TOKEN and LABD_ALERTMANAGER_WEBHOOK_TOKEN .* differ; set only LABD_WEBHOOK_TOKEN$/,
    );
    assert.throws(() => loadConfig({ ...url, LABD_WEBHOOK_TOKEN: 'short' }), /alertmanager\.webhookToken \(LABD_WEBHOOK_TOKEN\): .*at least 16/);
  });

  test('hold and Apprise settings: defaults, environment, bad values', () => {
    const on = loadConfig({ LABD_ALERTMANAGER_URL: 'http://am:9093', LABD_WEBHOOK_TOKEN: TOKEN }).alertmanager;
    assert.ok(on.enabled);
    assert.deepEqual(on.ackHoldStep, { seconds: 900, ms: 900_000, text: '15m' });
    assert.equal(on.ackHoldMax.seconds, 86400);
    assert.equal(on.appriseUrl, undefined);
    const set = loadConfig({
      LABD_ALERTMANAGER_URL: 'http://am:9093',
      LABD_WEBHOOK_TOKEN: TOKEN,
      LABD_APPRISE_URL: 'http://apprise:8000/notify/labd',
      LABD_ALERTMANAGER_ACK_HOLD_STEP: '5m',
    }).alertmanager;
    assert.equal(set.enabled && set.appriseUrl, 'http://apprise:8000/notify/labd');
    assert.equal(set.enabled && set.ackHoldStep.seconds, 300);
    assert.throws(
      () => loadConfig({ LABD_ALERTMANAGER_URL: 'http://am:9093', LABD_WEBHOOK_TOKEN: TOKEN, LABD_APPRISE_URL: 'mailto:x' }),
      /alertmanager\.appriseUrl \(LABD_APPRISE_URL\): expected the http\(s\) URL/,
    );
    assert.throws(
      () => loadConfig({ LABD_ALERTMANAGER_URL: 'http://am:9093', LABD_WEBHOOK_TOKEN: TOKEN, LABD_ALERTMANAGER_ACK_HOLD_MAX: 'forever' }),
      /alertmanager\.ackHoldMax \(LABD_ALERTMANAGER_ACK_HOLD_MAX\)/,
    );
  });
});
