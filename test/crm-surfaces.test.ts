/**
 * A user's CRM is theirs alone, so its commands are offered over SSH and in the TUI only: a Matrix
 * room (or any other surface) is read by other people. Checked on the registry every front-end uses.
 */
import { sqliteHandle } from '../src/db/sqlite-engine.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, describe, test } from 'vitest';
import type { Actor, Surface } from '../src/core/actor.ts';
import { systemClock } from '../src/core/clock.ts';
import { UsageError } from '../src/core/errors.ts';
import { createLogger } from '../src/core/logger.ts';
import { DEFAULT_ROLE_PERMISSIONS } from '../src/core/permissions.ts';
import { migrateDb, openDb } from '../src/db/client.ts';
import { crmCommands } from '../src/apps/crm/commands.ts';
import { SqlCrmStore } from '../src/apps/crm/sql-store.ts';
import { SqlAuditLog } from '../src/ops/audit/sql-store.ts';
import { Backends } from '../src/ops/backends.ts';
import { Registry } from '../src/ops/registry.ts';

describe('crm commands by surface', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-crm-surfaces-'));
  const db = openDb(dir);
  migrateDb(db);
  db.$client.prepare("insert into users (name, role) values ('alice', 'member')").run();
  const registry = new Registry({
    log: createLogger('silent'),
    clock: systemClock,
    rolePermissions: DEFAULT_ROLE_PERMISSIONS,
    audit: new SqlAuditLog(sqliteHandle(db)),
    backends: new Backends(),
  });
  registry.register(...crmCommands({ store: new SqlCrmStore(sqliteHandle(db)), maxImportBytes: 1024 * 1024 }));
  const alice = (via: Surface): Actor => ({ userId: 1, name: 'alice', role: 'member', via });
  after(() => {
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('offered over SSH and in the TUI; refused in Matrix and over HTTP, before anything runs', async () => {
    const added = await registry.invoke(alice('ssh'), ['crm', 'add'], { name: ['Ada', 'Lovelace'] });
    assert.equal(added.kind, 'record');
    assert.equal((await registry.invoke(alice('tui'), ['crm', 'ls'], {})).kind, 'table');
    for (const via of ['matrix', 'http'] as const) {
      await assert.rejects(
        registry.invoke(alice(via), ['crm', 'ls'], {}),
        (err: unknown) => err instanceof UsageError && /not available (here|in \w+)/.test(err.message),
      );
      await assert.rejects(registry.execute({ actor: alice(via), argv: ['crm', 'show', '1'], confirmed: false }), UsageError);
    }
    for (const c of registry.all().filter((c) => c.path[0] === 'crm')) assert.deepEqual(c.surfaces, ['ssh', 'tui'], c.path.join(' '));
  });
});
