/**
 * Issue 23, point 9: a person who runs `npm start` in a terminal reads lines, not JSON: local times,
 * a level and a message, nothing from dependencies (no DEP0060 from matrix-bot-sdk's htmlencode, no
 * native-crypto warning), and a 'stopped' line after 'shutting down' on Ctrl-C. A pipe still gets one
 * JSON object a line (LabdProcess and every log collector read those). The terminal is tmux's.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, describe, test } from 'vitest';
import { freePort, ROOT } from './support/labd.ts';
import { TmuxTerminal } from './support/tmux.ts';

describe('logs for a person at a terminal, JSON for machines', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labd-logs-'));
  let t: TmuxTerminal | undefined;
  after(() => {
    t?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('npm start in a terminal: readable lines, nothing from dependencies, and a stopped line', async () => {
    const env = {
      LANG: 'C.UTF-8',
      LABD_DATA_DIR: dataDir,
      LABD_SSH_LISTEN: `127.0.0.1:${await freePort()}`,
      LABD_HTTP_LISTEN: `127.0.0.1:${await freePort()}`,
      // The bot loads matrix-bot-sdk (DEP0060 on Node 22+) and finds no native crypto module.
      LABD_MATRIX_HOMESERVER: `http://127.0.0.1:${await freePort()}`,
      LABD_MATRIX_TOKEN: 'syt_no_homeserver_here',
      LABD_MATRIX_ROOMS: '#ops:localhost',
    };
    t = TmuxTerminal.start(['sh', '-c', `cd '${ROOT}' && exec npm start --silent`], { cols: 200, rows: 50, env });
    const shown = await t.waitFor(/labd listening/, 'the listening line');
    const text = shown.join('\n');
    assert.doesNotMatch(text, /^\{"level"/m, `no JSON lines on a terminal:\n${text}`);
    assert.match(text, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] INFO: labd listening/m, `a local time, a level, the message:\n${text}`);
    assert.doesNotMatch(text, /DEP0060|util\._extend|DeprecationWarning/, 'no deprecation from a dependency');
    assert.doesNotMatch(text, /WARN.*crypto/i, 'no warning about the native crypto module');
    t.sendKeys('C-c');
    const stopped = await t.waitFor((l) => l.some((x) => / INFO: stopped/.test(x)), 'the stopped line');
    const all = stopped.join('\n');
    assert.ok(all.indexOf('shutting down') < all.indexOf('INFO: stopped'), 'stopped comes after shutting down');
  });
});
