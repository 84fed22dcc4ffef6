/**
 * bench/tui-memory: the heap and RSS one TUI session at the home menu costs, in this process, without
 * SSH (stand-in channels), so the TUI host alone is measured: N sessions opened, each read after a
 * forced full GC. `npm run bench:ssh-connect -- --idle-tui` measures the same over real SSH.
 *
 *   npx tsx bench/tui-memory.ts [--sessions 100] [--term xterm]
 */
import { sqliteHandle } from '../src/db/sqlite-engine.ts';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Backends } from '../src/ops/backends.ts';
import { SqlAuditLog } from '../src/ops/audit/sql-store.ts';
import { systemClock } from '../src/core/clock.ts';
import { createLogger } from '../src/core/logger.ts';
import { DEFAULT_ROLE_PERMISSIONS } from '../src/core/permissions.ts';
import { openDb } from '../src/db/client.ts';
import { Registry } from '../src/ops/registry.ts';
import { TuiHost } from '../src/ssh/tui/host.ts';

class StandInChannel extends EventEmitter {
  destroyed = false;
  writable = true;
  writableLength = 0;
  write(): boolean {
    return true;
  }
  exit(): void {}
  end(): void {}
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sessions: { type: 'string' }, term: { type: 'string' } } });
  const sessions = Math.min(1000, Math.max(1, Number(values.sessions ?? 100) || 100));
  const term = values.term ?? 'xterm';
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const dir = mkdtempSync(join(tmpdir(), 'labd-bench-tui-'));
  const log = createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() }));
  const registry = new Registry({
    log,
    clock: systemClock,
    rolePermissions: DEFAULT_ROLE_PERMISSIONS,
    audit: new SqlAuditLog(sqliteHandle(openDb(dir))),
    backends: new Backends(),
  });
  const host = new TuiHost(registry, log, 'lab.bench');
  for (const id of ['one', 'two', 'three', 'four', 'five', 'six'])
    host.register({ id, title: id, description: 'an app on the menu', permission: 'authenticated', open() {} });
  const channels: StandInChannel[] = [];
  const open = () => {
    const channel = new StandInChannel();
    host.open({
      channel: channel as never,
      actor: { userId: 1, name: 'ann', role: 'member', via: 'tui' },
      pty: { term, cols: 80, rows: 24 },
      env: { LANG: 'C.UTF-8' },
      onExit() {},
    });
    channels.push(channel);
  };
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
      gc();
    }
    return process.memoryUsage();
  };
  open(); // the first session parses the terminfo: not a per-session cost
  const before = await settle();
  for (let i = 0; i < sessions; i++) open();
  const after = await settle();
  const mb = (bytes: number) => (bytes / sessions / 1048576).toFixed(3);
  process.stdout.write(
    `${sessions} TUI sessions at the home menu, TERM=${term}: heap ${mb(after.heapUsed - before.heapUsed)} MB/session, RSS ${mb(after.rss - before.rss)} MB/session\n`,
  );
  for (const c of channels) c.emit('close');
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

void main();
