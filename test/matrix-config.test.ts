import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { EncryptionUnsupported, loadMatrixSdk } from '../src/bot/sdk.ts';
import { parseRequest, stripReplyFallback } from '../src/bot/parse.ts';
import { retryAfter } from '../src/bot/outbox.ts';

test('the matrix section is off by default, and a half-configured bot fails at boot naming the missing key', () => {
  assert.deepEqual(loadConfig({}).matrix, { enabled: false });
  assert.throws(
    () => loadConfig({ LABD_MATRIX_HOMESERVER: 'https://matrix.example.org', LABD_MATRIX_ROOMS: '#ops:example.org' }),
    (err: Error) => err instanceof ConfigError && /matrix\.accessToken \(LABD_MATRIX_TOKEN\): required/.test(err.message),
  );
  assert.throws(() => loadConfig({ LABD_MATRIX_HOMESERVER: 'https://m.example.org', LABD_MATRIX_TOKEN: 't' }), /matrix\.rooms \(LABD_MATRIX_ROOMS\): required/);
  assert.throws(() => loadConfig({ LABD_MATRIX_HOMESERVER: 'https://m.example.org', LABD_MATRIX_TOKEN: 't', LABD_MATRIX_ROOMS: 'ops' }), /expected a room ID/);
  const full = loadConfig({
    LABD_MATRIX_HOMESERVER: 'https://m.example.org',
    LABD_MATRIX_TOKEN: 't',
    LABD_MATRIX_ROOMS: '#ops:example.org',
    LABD_MATRIX_USERS: '@alice:example.org=alice',
  });
  assert.deepEqual(full.matrix, {
    enabled: true,
    homeserverUrl: 'https://m.example.org',
    accessToken: 't',
    rooms: ['#ops:example.org'],
    userMap: { '@alice:example.org': 'alice' },
    commandPrefix: '!lab',
    oncall: [],
    escalateTo: [],
    confirmWindow: { seconds: 60, ms: 60_000, text: '60s' },
  });
  const base = { LABD_MATRIX_HOMESERVER: 'https://m.example.org', LABD_MATRIX_TOKEN: 't', LABD_MATRIX_ROOMS: '#ops:example.org' };
  const withAlerts = loadConfig({
    ...base,
    LABD_MATRIX_ALERTS_ROOM: '#alerts:example.org',
    LABD_MATRIX_ONCALL: '@alice:example.org,@bob:example.org',
    LABD_MATRIX_ESCALATE_TO: '@carol:example.org',
  }).matrix;
  assert.deepEqual(withAlerts.enabled && [withAlerts.alertsRoom, withAlerts.oncall, withAlerts.escalateTo], [
    '#alerts:example.org',
    ['@alice:example.org', '@bob:example.org'],
    ['@carol:example.org'],
  ]);
  assert.throws(() => loadConfig({ ...base, LABD_MATRIX_ONCALL: 'alice' }), /matrix\.oncall.*expected a Matrix user ID/);
  assert.throws(() => loadConfig({ ...base, LABD_MATRIX_ESCALATE_TO: 'carol' }), /matrix\.escalateTo.*expected a Matrix user ID/);
  // The command prefix: another word works, a prefix with a space is refused in one line.
  const ops = loadConfig({ ...base, LABD_MATRIX_COMMAND_PREFIX: '!ops' }).matrix;
  assert.equal(ops.enabled && ops.commandPrefix, '!ops');
  assert.throws(() => loadConfig({ ...base, LABD_MATRIX_COMMAND_PREFIX: '! lab' }), /matrix\.commandPrefix \(LABD_MATRIX_COMMAND_PREFIX\): no spaces/);
  const said = (body: string) =>
    parseRequest(
      { type: 'm.room.message', sender: '@a:hs', event_id: '$e', room_id: '!r:hs', origin_server_ts: 0, content: { msgtype: 'm.text', body } } as never,
      '!ops',
    );
  assert.deepEqual(said('!ops nodes --json'), { kind: 'command', text: 'nodes --json', replyTo: undefined, edits: undefined, threadRoot: undefined });
  assert.equal(said('!lab nodes'), undefined, 'the default prefix no longer answers');
  assert.equal(said('!opsnodes'), undefined, 'the prefix is a whole word');
  // The escalation time moved to the alertmanager section: the old variable says where.
  assert.throws(
    () => loadConfig({ ...base, LABD_MATRIX_ESCALATE_AFTER: '10m' }),
    /^Error: config: LABD_MATRIX_ESCALATE_AFTER is no longer read: set LABD_ALERTMANAGER_ESCALATE_AFTER/,
  );
});

test('matrix-bot-sdk loads on this Node; without the native crypto module a stand-in refuses encryption clearly', () => {
  const { sdk, encryption } = loadMatrixSdk();
  assert.equal(typeof sdk.MatrixClient, 'function');
  if (!encryption) {
    const client = new sdk.MatrixClient('http://127.0.0.1:9', 'token');
    assert.equal(typeof client.start, 'function');
    // What the SDK gets in place of @matrix-org/matrix-sdk-crypto-nodejs.
    const sdkRequire = createRequire(createRequire(import.meta.url).resolve('matrix-bot-sdk'));
    const crypto = sdkRequire('@matrix-org/matrix-sdk-crypto-nodejs') as { OlmMachine: new () => unknown };
    assert.throws(
      () => new crypto.OlmMachine(),
      (err: unknown) => err instanceof EncryptionUnsupported && /end-to-end encryption is unavailable/.test(err.message),
    );
  }
});

test('reply fallbacks are stripped; Retry-After wins over retry_after_ms', () => {
  assert.equal(stripReplyFallback('> <@bob:hs> hello\n> more\n\n!lab whoami'), '!lab whoami');
  assert.equal(stripReplyFallback('!lab whoami'), '!lab whoami');
  assert.equal(retryAfter('2', 500), 2000);
  assert.equal(retryAfter(null, 500), 500);
  assert.equal(retryAfter(null, undefined), undefined);
});
