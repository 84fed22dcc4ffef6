import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'vitest';

/**
 * scripts/patch-ssh2.mjs rebuilds ssh2's native binding with NAN's ObjectWrap: with node::ObjectWrap,
 * Node 24 aborts when a GC that V8 runs as a task collects one of its cipher objects (every SSH
 * connection makes four). The churn below aborted an unpatched binding within its first rounds.
 */
const require = createRequire(import.meta.url);
const bindingPath = require.resolve('ssh2/lib/protocol/crypto/build/Release/sshcrypto.node');
const churn = fileURLToPath(new URL('./fixtures/ssh2-cipher-churn.cjs', import.meta.url));

function node(args: string[]) {
  return spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
}

describe("ssh2's native ciphers", () => {
  test('the binding is built from the patched source, and ssh2 loads it', () => {
    const r = node([
      '-e',
      `const c = require('ssh2/lib/protocol/crypto.js');
      console.log(JSON.stringify({ available: c.bindingAvailable, mark: require(${JSON.stringify(bindingPath)}).labdNanObjectWrap }))`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { available: true, mark: true }, 'run: npm rebuild ssh2 && node scripts/patch-ssh2.mjs');
  });

  test('120,000 cipher objects made and dropped while V8 collects in tasks: the process lives on', () => {
    const r = node([churn, bindingPath, '40']);
    assert.doesNotMatch(r.stderr, /Assertion failed/);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /survived 40 rounds/);
  });

  test('a binding without the patch mark is refused: ssh2 takes its JavaScript ciphers', () => {
    // An unpatched build stands in as a loaded module exporting the cipher classes without the mark.
    const r = node([
      '-e',
      `const Module = require('node:module');
      const path = ${JSON.stringify(bindingPath)};
      const stale = new Module(path); stale.filename = path; stale.loaded = true;
      stale.exports = { ChaChaPolyCipher: class {}, AESGCMCipher: class {}, GenericCipher: class {},
        ChaChaPolyDecipher: class {}, AESGCMDecipher: class {}, GenericDecipher: class {} };
      require.cache[path] = stale;
      console.log(require('ssh2/lib/protocol/crypto.js').bindingAvailable)`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'false');
  });
});
