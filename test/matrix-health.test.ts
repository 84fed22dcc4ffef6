/**
 * Issue 23, point 6: the Matrix homeserver is checked like the other backends (GET whoami with the
 * bot's token), so /metrics has labd_backend_up{backend="matrix"} and the TUI home strip does not
 * say "not checked yet" for as long as the bot runs. Against the project's fake homeserver, up and
 * refusing connections.
 */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { startBotLab, stopBotLab, type BotLab } from './support/fake-matrix/harness.ts';
import { freePort, KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { until } from './support/wait.ts';

const backendUp = async (labd: InProcessLabd): Promise<string | undefined> => {
  const text = await (await fetch(`http://127.0.0.1:${labd.httpPort}/metrics`)).text();
  return /^labd_backend_up\{backend="matrix"\} (\d)$/m.exec(text)?.[1];
};

describe('the Matrix homeserver is a checked backend', () => {
  let lab: BotLab<InProcessLabd> | undefined;
  const keys = new KeyLab();
  let orphan: InProcessLabd | undefined;

  before(async () => {
    lab = await startBotLab({}, InProcessLabd.start);
  });
  after(async () => {
    await stopBotLab(lab);
    await orphan?.stop();
    keys.cleanup();
  });

  test('a working homeserver: labd_backend_up{backend="matrix"} 1', async () => {
    assert.equal(await until('the first Matrix check', () => backendUp(lab!.labd), { timeoutMs: 30_000, intervalMs: 100 }), '1');
    assert.ok(lab!.fake.requests.some((r) => r.path.endsWith('/account/whoami') && r.userId === lab!.bot.userId && r.status === 200));
  });

  test('a homeserver that refuses connections: labd_backend_up{backend="matrix"} 0', async () => {
    orphan = await InProcessLabd.start({
      adminKeys: [keys.publicKey(keys.key('admin'))],
      env: { LABD_MATRIX_HOMESERVER: `http://127.0.0.1:${await freePort()}`, LABD_MATRIX_TOKEN: 'syt_nothing_there', LABD_MATRIX_ROOMS: '#ops:localhost' },
    });
    assert.equal(await until('the first Matrix check', () => backendUp(orphan!), { timeoutMs: 30_000, intervalMs: 100 }), '0');
  });
});
