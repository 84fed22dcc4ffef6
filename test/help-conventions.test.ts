/** Help reads as one voice: every command's summary starts the same way, checked over the whole registry. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { startLabd, type Labd } from '../src/app.ts';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/core/logger.ts';
import { readFileSync } from 'node:fs';
import { DEFAULT_ROLE_PERMISSIONS } from '../src/core/permissions.ts';
import { ROOT } from './support/labd.ts';

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

  test('the README marks the permissions no command needs yet, and only those', () => {
    const used = new Set(labd.registry.all().map((c) => c.permission));
    const all = [...new Set(Object.values(DEFAULT_ROLE_PERMISSIONS).flat())];
    const unused = all.filter((p) => !used.has(p)).sort();
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const marked = /; ((?:`[a-z.]+`(?:, | and )?)+) (?:has|have) no commands yet/.exec(readme.replace(/\n/g, ' '));
    if (!unused.length) return assert.equal(marked, null, 'every permission has commands: the README must not say otherwise');
    assert.ok(marked, 'the README says which permissions have no commands yet');
    assert.deepEqual([...marked[1]!.matchAll(/`([a-z.]+)`/g)].map((m) => m[1]).sort(), unused);
  });
});
