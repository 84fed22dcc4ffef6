/**
 * package.json's engines range is true for every installed dependency: each Node version it admits
 * is one every dependency declares support for (matrix-bot-sdk 0.8 needs ≥ 22, a dev tool ^22.13).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { test } from 'vitest';
import { ROOT } from './support/labd.ts';

interface Manifest {
  name?: string;
  version?: string;
  engines?: { node?: string };
}

function manifests(dir: string, out: Manifest[] = []): Manifest[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (name.startsWith('@')) {
      manifests(path, out);
      continue;
    }
    const file = join(path, 'package.json');
    if (!existsSync(file)) continue;
    out.push(JSON.parse(readFileSync(file, 'utf8')) as Manifest);
    manifests(join(path, 'node_modules'), out);
  }
  return out;
}

test("labd's engines range is within every dependency's", () => {
  const ours = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest).engines?.node;
  assert.ok(ours && semver.validRange(ours), `engines.node: ${ours}`);
  const all = manifests(join(ROOT, 'node_modules'));
  assert.ok(all.length > 200, `read ${all.length} manifests`);
  const wider = all
    .filter((m) => m.engines?.node && semver.validRange(m.engines.node) && !semver.subset(ours, m.engines.node))
    .map((m) => `${m.name}@${m.version} needs node ${m.engines!.node}`);
  assert.deepEqual(wider, []);
  // The runtimes CI runs the suite on: Node 24 is inside the range.
  assert.ok(semver.satisfies('24.0.0', ours));
});

test('the SQLite driver loaded is the build for the running Node, and it works (FTS5 included)', async () => {
  const { Database, SQLITE_DRIVER_PACKAGE } = await import('../src/db/sqlite-driver.ts');
  const major = Number(process.versions.node.split('.')[0]);
  assert.equal(SQLITE_DRIVER_PACKAGE, major >= 22 ? 'better-sqlite3' : 'better-sqlite3-node20');
  const db = new Database(':memory:');
  db.exec("create virtual table t using fts5(a); insert into t values ('hello')");
  // Many short-lived statements: on Node ≥ 24.19 better-sqlite3 12 aborts when the GC collects them.
  for (let i = 0; i < 20_000; i++) db.prepare('select ? + 1 as x').get(i);
  assert.equal((db.prepare("select count(*) as n from t where t match 'hel*'").get() as { n: number }).n, 1);
  db.close();
});
