/**
 * One data dir that several replicas mount (issue #21 item 4): what a replica clears at start is its
 * own. Paste uploads are written beside the blobs (a commit is a rename on one filesystem) with
 * random names; on a shared dir a starting replica leaves another's upload in progress alone.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'vitest';
import { systemClock } from '../src/core/clock.ts';
import { ORPHAN_GRACE_MS, SqlPasteStore } from '../src/apps/paste/sql-store.ts';
import type { SqlHandle } from '../src/db/sql.ts';

test('paste temp files on a shared data dir: a starting replica drops only those untouched for the grace period', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-shared-'));
  try {
    // prepare() reads no table: the handle is not used.
    const replica = (shared: boolean) => new SqlPasteStore(undefined as unknown as SqlHandle, dir, systemClock, { shared });
    const a = replica(true);
    a.prepare();
    const uploading = a.newTempPath();
    writeFileSync(uploading, 'an upload on its way in');
    const crashed = a.newTempPath();
    writeFileSync(crashed, 'left by a replica that died');
    const old = new Date(Date.now() - ORPHAN_GRACE_MS - 60_000);
    utimesSync(crashed, old, old);
    replica(true).prepare();
    assert.ok(existsSync(uploading), "another replica's upload in progress stays");
    assert.ok(!existsSync(crashed), 'an abandoned upload goes');
    // A data dir of its own (SQLite): this process is the only writer, every leftover goes.
    replica(false).prepare();
    assert.ok(!existsSync(uploading));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
