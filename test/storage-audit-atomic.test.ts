/**
 * A mutating command's change and its audit row commit together, on both engines: when the audit row
 * cannot be written, the change the command made is rolled back and the caller gets an error. The
 * audit log's own port contract runs on both engines too.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { z } from 'zod';
import type { Actor } from '../src/core/actor.ts';
import { systemClock } from '../src/core/clock.ts';
import { createLogger } from '../src/core/logger.ts';
import { DEFAULT_ROLE_PERMISSIONS } from '../src/core/permissions.ts';
import { SqlAuditLog } from '../src/ops/audit/sql-store.ts';
import type { AuditEntry, AuditLog } from '../src/ops/audit/store.ts';
import { Backends } from '../src/ops/backends.ts';
import { defineCommand, Registry } from '../src/ops/registry.ts';
import { ENGINES, openTestEngine, type TestEngine } from './support/engines.ts';

const admin: Actor = { userId: 1, name: 'root', role: 'admin', via: 'ssh' };
const entry = (command: string, at = new Date()): AuditEntry => ({ at, actor: admin, command, args: { n: 1 }, outcome: 'ok', durationMs: 3 });

describe.each(ENGINES)('audit log on %s', (engineName) => {
  let engine: TestEngine;
  let audit: SqlAuditLog;
  beforeAll(async () => {
    engine = await openTestEngine(engineName);
    audit = new SqlAuditLog(engine.handle);
  });
  afterAll(() => engine.close());

  test('records rows and reads them back newest first, since a time', async () => {
    const t0 = new Date('2026-01-01T00:00:00.123Z');
    await audit.record(entry('first', t0));
    await audit.record({ ...entry('second', new Date(t0.getTime() + 1000)), outcome: 'denied', error: 'no' });
    const rows = await audit.since(t0, 10);
    assert.deepEqual(
      rows.map((r) => [r.command, r.outcome, r.error, r.at.getTime(), r.actor, r.userId, r.via, r.args]),
      [
        ['second', 'denied', 'no', t0.getTime() + 1000, 'root', 1, 'ssh', '{"n":1}'],
        ['first', 'ok', null, t0.getTime(), 'root', 1, 'ssh', '{"n":1}'],
      ],
    );
    assert.equal((await audit.since(new Date(t0.getTime() + 1), 10)).length, 1);
    assert.equal((await audit.since(t0, 1)).length, 1);
  });

  test("a command's change is rolled back when its audit row cannot be written", async () => {
    let failAudit = false;
    const flaky: AuditLog = {
      record: async (e) => {
        if (failAudit && e.command === 'scribble') throw new Error('disk full');
        return audit.record(e);
      },
      since: (s, l) => audit.since(s, l),
    };
    const registry = new Registry({
      log: createLogger('silent'),
      clock: systemClock,
      rolePermissions: DEFAULT_ROLE_PERMISSIONS,
      audit: flaky,
      backends: new Backends(),
      transaction: (fn) => engine.handle.transaction(() => fn()),
    });
    registry.register(
      defineCommand({
        path: ['scribble'],
        summary: 'test: writes a row of its own (the change), then the registry writes its audit row',
        args: z.object({ word: z.string() }),
        positionals: ['word'],
        permission: 'admin.users',
        mutating: true,
        results: ['message'],
        async run(_ctx, args) {
          assert.ok(engine.handle.inTransaction(), 'the command runs inside a transaction');
          await audit.record(entry(`change ${args.word}`));
          return { kind: 'message', text: 'ok' };
        },
      }),
    );
    const since = new Date(Date.now() - 60_000);
    await registry.invoke(admin, ['scribble'], { word: 'kept' });
    failAudit = true;
    await assert.rejects(registry.invoke(admin, ['scribble'], { word: 'lost' }), /disk full/);
    const commands = (await audit.since(since, 50)).map((r) => r.command);
    assert.ok(commands.includes('change kept') && commands.includes('scribble'), commands.join(', '));
    assert.ok(!commands.includes('change lost'), `the change without its audit row was rolled back: ${commands.join(', ')}`);
  });
});
