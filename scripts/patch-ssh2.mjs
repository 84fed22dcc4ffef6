#!/usr/bin/env node
/**
 * ssh2 1.17 answers queued user-auth requests newest first (`pendingAuths.pop()` in lib/server.js),
 * so once labd's checks are asynchronous, a request sent behind several others is judged before
 * them: a valid key pipelined after MaxAuthTries wrong ones logged in after two failures. sshd, and
 * RFC 4252's one-request-at-a-time model, take them in order. Upstream fix: mscdex/ssh2 pull request
 * 1481 ("process pending auth requests in FIFO order"), not released yet. Until it is, this turns the
 * one `pop()` into `shift()`. It stops the install when neither form is found, so a changed ssh2 is
 * looked at rather than shipped unpatched. Runs on `npm ci`/`npm install` (postinstall) and in the image.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const file = join(dirname(require.resolve('ssh2/package.json')), 'lib', 'server.js');
const text = readFileSync(file, 'utf8');
const lifo = 'authCtx = pendingAuths.pop();';
const fifo = 'authCtx = pendingAuths.shift();';
if (text.includes(fifo) && !text.includes(lifo)) {
  process.exit(0);
}
const count = text.split(lifo).length - 1;
if (count !== 1) {
  console.error(`scripts/patch-ssh2.mjs: expected one '${lifo}' in ${file}, found ${count}: check how this ssh2 orders queued auth requests`);
  process.exit(1);
}
// A new file, not a write into the old one: node_modules may be hard-linked into other checkouts.
writeFileSync(`${file}.tmp`, text.replace(lifo, fifo));
renameSync(`${file}.tmp`, file);
console.log('scripts/patch-ssh2.mjs: ssh2 answers queued auth requests in arrival order');
