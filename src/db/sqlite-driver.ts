import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * The better-sqlite3 build for the running Node. better-sqlite3 12 wraps its objects in Node's raw
 * ObjectWrap, whose destructor aborts Node ≥ 24.19 when a statement is collected by an idle GC
 * ("RemoveEnvironmentCleanupHook: (env) != nullptr"); 13 moved to Node-API and ships prebuilt
 * binaries, but crashes on Node 20. So Node ≥ 22 (and the image's Node 24) loads 13, and Node 20
 * loads 12, installed under the alias `better-sqlite3-node20` (an optional dependency).
 */
const require = createRequire(import.meta.url);
const nodeMajor = Number(process.versions.node.split('.')[0]);

export const SQLITE_DRIVER_PACKAGE = nodeMajor >= 22 ? 'better-sqlite3' : 'better-sqlite3-node20';

export const Database = require(SQLITE_DRIVER_PACKAGE) as typeof BetterSqlite3;
export type Database = BetterSqlite3.Database;
export type Statement = BetterSqlite3.Statement;
