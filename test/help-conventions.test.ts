/** Help reads as one voice: every command's summary starts the same way, checked over the whole registry. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { startLabd, type Labd } from '../src/app.ts';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/core/logger.ts';

describe('help summaries', () => {
  let labd: Labd;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'labd-help-'));
    labd = await startLabd(loadConfig({ LABD_DATA_DIR: dir, LABD_SSH_LISTEN: '127.0.0.1:0', LABD_HTTP_LISTEN: '127.0.0.1:0' }), createLogger('silent'));
  });
  after(async () => {
    await labd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every summary is one line that starts with a capitalised verb and ends without a full stop', () => {
    const commands = labd.registry.all();
    assert.ok(commands.length > 30, `only ${commands.length} commands registered`);
    const wrong = commands
      .map((c) => ({ command: c.path.join(' '), summary: c.summary }))
      .filter(({ summary }) => !/^[A-Z][a-z]+\b/.test(summary) || /[.\s]$/.test(summary) || summary.includes('\n') || summary.length > 120);
    assert.deepEqual(wrong, []);
  });
});
