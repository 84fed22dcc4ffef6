#!/usr/bin/env node
/**
 * Four changes to ssh2 1.17, applied on `npm ci`/`npm install` (postinstall) and in the image. Each
 * stops the install when neither its old nor its new form is found, so a changed ssh2 is looked at
 * rather than shipped unpatched. Files are replaced, not written into: node_modules may be
 * hard-linked into other checkouts.
 *
 * 1. Auth requests in arrival order. ssh2 answers queued user-auth requests newest first
 *    (`pendingAuths.pop()` in lib/server.js), so once labd's checks are asynchronous, a request sent
 *    behind several others is judged before them: a valid key pipelined after MaxAuthTries wrong
 *    ones logged in after two failures. sshd, and RFC 4252's one-request-at-a-time model, take them
 *    in order. Upstream fix: mscdex/ssh2 pull request 1481, not released yet.
 *
 * 2. Outbound packet buffers are reused. ssh2 allocates a fresh buffer for every packet it encrypts
 *    (32 KiB per packet of a bulk transfer) and drops it once the socket has taken it. On Node 24 such
 *    short-lived ArrayBuffers drive V8 into a full mark-compact every few tens of MB sent: serving a
 *    51 MB git clone cost labd 0.47–0.55 s of CPU, against 0.33 s on Node 20. The two native cipher
 *    classes (chacha20-poly1305 and AES-GCM, what OpenSSH negotiates) now take large packets from a
 *    small process-wide free list and give them back when the server's socket wrote the packet
 *    synchronously (its queue is empty after `write`: the kernel has the bytes, nothing refers to the
 *    buffer). A packet the socket had to queue is left to the garbage collector as before. Measured:
 *    0.36–0.43 s per clone, in the same interleaved run (bench/README, git-clone). The random bytes
 *    that pad each packet are taken from a pool refilled 4 KiB at a time instead of one
 *    randomFillSync call per packet (2 µs each).
 *
 * 3. The native binding's cipher objects derive from NAN's ObjectWrap instead of node::ObjectWrap.
 *    Since Node 24, node::ObjectWrap registers an environment clean-up hook per object and removes it
 *    in its destructor, looking the environment up from the isolate's entered context. A cipher
 *    collected by a GC that V8 runs as a task (a scavenge or a finalization with no context entered)
 *    aborts the whole process: `RemoveEnvironmentCleanupHook … Assertion failed: (env) != nullptr`
 *    from ~ChaChaPolyDecipher or ~AESGCMDecipher. Every SSH connection makes four such objects, so
 *    labd could die with one of its connections' garbage (and vitest workers did, in CI). NAN's
 *    ObjectWrap keeps no hook. The patched binding exports `labdNanObjectWrap`, and ssh2's loader
 *    takes its JavaScript ciphers rather than a binding without it (one built before this patch).
 *    test/ssh2-binding-gc.test.ts makes 120,000 ciphers and lets task GCs collect them.
 *
 * 4. No WebAssembly Poly1305 next to the native binding. ssh2 instantiates an Emscripten Poly1305
 *    (a 16 MiB WebAssembly memory) when it loads, for its JavaScript chacha20-poly1305 path only; the
 *    binding computes Poly1305 itself. With the binding loaded that module is now skipped: it was
 *    16 MiB of labd's external memory at rest, for nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const lib = join(dirname(require.resolve('ssh2/package.json')), 'lib');

/** Replaces each `from` (expected exactly `count` times) by its `to`; a no-op once `done` is in the file. */
function patch(file, what, done, edits) {
  const text = readFileSync(file, 'utf8');
  if (text.includes(done)) return false;
  let out = text;
  for (const e of edits) {
    const found = out.split(e.from).length - 1;
    if (found !== (e.count ?? 1)) {
      console.error(`scripts/patch-ssh2.mjs: expected ${e.count ?? 1} of '${e.from.split('\n')[0]}…' in ${file}, found ${found}: check ${what}`);
      process.exit(1);
    }
    out = out.split(e.from).join(e.to);
  }
  writeFileSync(`${file}.tmp`, out);
  renameSync(`${file}.tmp`, file);
  console.log(`scripts/patch-ssh2.mjs: ${what}`);
  return true;
}

patch(join(lib, 'server.js'), 'ssh2 answers queued auth requests in arrival order', 'authCtx = pendingAuths.shift();', [
  { from: 'authCtx = pendingAuths.pop();', to: 'authCtx = pendingAuths.shift();' },
]);

const POOL = `// labd (scripts/patch-ssh2.mjs): large outbound packets come from a bounded free list and go back
// once the socket has written them synchronously.
const LABD_SLAB = 36 * 1024;
const labdSlabs = [];
function labdTakePacket(size) {
  if (size <= 4096 || size > LABD_SLAB)
    return Buffer.allocUnsafe(size);
  const slab = labdSlabs.pop() || Buffer.allocUnsafeSlow(LABD_SLAB);
  return slab.subarray(0, size);
}
// Padding bytes come from a pool of random bytes refilled 4 KiB at a time: one randomFillSync per
// packet cost about 2 µs, 9 % of labd's time per pub/sub message per subscriber.
const labdPadding = Buffer.allocUnsafeSlow(4096);
let labdPaddingAt = labdPadding.length;
function labdRandomPadding(packet, offset, length) {
  if (labdPaddingAt + length > labdPadding.length) {
    randomFillSync(labdPadding);
    labdPaddingAt = 0;
  }
  labdPadding.copy(packet, offset, labdPaddingAt, labdPaddingAt + length);
  labdPaddingAt += length;
}
function labdGivePacket(packet) {
  if (packet.byteOffset === 0 && packet.buffer.byteLength === LABD_SLAB && labdSlabs.length < 64)
    labdSlabs.push(Buffer.from(packet.buffer, 0, LABD_SLAB));
}

class ChaChaPolyCipherBinding {`;

patch(join(lib, 'protocol', 'crypto.js'), 'ssh2 reuses the buffers of large outbound packets and pools random padding', 'function labdTakePacket(', [
  { from: '\nclass ChaChaPolyCipherBinding {', to: '\n' + POOL },
  { from: 'const packet = Buffer.allocUnsafe(pktLen + 16/* MAC */);', to: 'const packet = labdTakePacket(pktLen + 16/* MAC */);' },
  { from: '    randomFillSync(packet, 5 + payloadLen, padLen);', to: '    labdRandomPadding(packet, 5 + payloadLen, padLen);', count: 7 },
  { from: 'const packet = Buffer.allocUnsafe(pktLen + 16/* authTag */);', to: 'const packet = labdTakePacket(pktLen + 16/* authTag */);' },
  {
    from: '    this._instance.encrypt(packet, this.outSeqno);\n\n    this._onWrite(packet);',
    to: '    this._instance.encrypt(packet, this.outSeqno);\n\n    if (this._onWrite(packet) === true)\n      labdGivePacket(packet);',
  },
  {
    from: '    this._instance.encrypt(packet);\n\n    this._onWrite(packet);',
    to: '    this._instance.encrypt(packet);\n\n    if (this._onWrite(packet) === true)\n      labdGivePacket(packet);',
  },
]);

patch(join(lib, 'protocol', 'Protocol.js'), "ssh2's protocol passes on whether the socket took a packet at once", 'this._onWrite = (data) => onWrite(data);', [
  { from: 'this._onWrite = (data) => { onWrite(data); };', to: 'this._onWrite = (data) => onWrite(data);' },
]);

patch(join(lib, 'server.js'), "ssh2's server says whether its socket wrote a packet at once", 'return socket.writableLength === 0;', [
  {
    from: '      onWrite: (data) => {\n        if (isWritable(socket))\n          socket.write(data);\n      },',
    to: '      onWrite: (data) => {\n        if (!isWritable(socket))\n          return false;\n        socket.write(data);\n        return socket.writableLength === 0;\n      },',
  },
]);

const crypto = join(lib, 'protocol', 'crypto');
const bindingSourceChanged = patch(
  join(crypto, 'src', 'binding.cc'),
  "ssh2's native ciphers are NAN ObjectWraps (no clean-up hook for a GC to remove)",
  'labdNanObjectWrap',
  [
    { from: ' : public ObjectWrap {', to: ' : public Nan::ObjectWrap {', count: 6 },
    { from: ' ObjectWrap::Unwrap<', to: ' Nan::ObjectWrap::Unwrap<', count: 14 },
    {
      from: '  GenericDecipher::Init(target);\n}',
      to:
        "  GenericDecipher::Init(target);\n\n  // labd (scripts/patch-ssh2.mjs): ssh2's loader refuses a binding without this mark.\n" +
        '  Nan::Set(target, Nan::New("labdNanObjectWrap").ToLocalChecked(), Nan::True());\n}',
    },
  ],
);

patch(join(lib, 'protocol', 'crypto.js'), 'ssh2 loads only a native binding built from the patched source', 'labdNanObjectWrap', [
  {
    from: "  binding = require('./crypto/build/Release/sshcrypto.node');\n",
    to:
      "  const labdBinding = require('./crypto/build/Release/sshcrypto.node');\n" +
      '  // labd (scripts/patch-ssh2.mjs): a binding built before the ObjectWrap patch can abort Node 24.\n' +
      "  if (labdBinding.labdNanObjectWrap !== true)\n    throw new Error('ssh2 binding built from unpatched source');\n" +
      '  binding = labdBinding;\n',
  },
]);

// A binding already built (by ssh2's own install script, which npm runs before this postinstall) came
// from the unpatched source: build it again now. Where that fails the old one is removed, and ssh2
// takes its JavaScript ciphers (slower, never aborting).
const built = join(crypto, 'build', 'Release', 'sshcrypto.node');
if (bindingSourceChanged && existsSync(built)) {
  const npm = process.env.npm_execpath;
  const run = npm
    ? spawnSync(process.execPath, [npm, 'rebuild', 'ssh2', '--no-audit', '--no-fund'], { stdio: ['ignore', 'ignore', 'inherit'] })
    : spawnSync('npm rebuild ssh2 --no-audit --no-fund', { stdio: ['ignore', 'ignore', 'inherit'], shell: true });
  if (run.status !== 0 || !existsSync(built)) {
    rmSync(built, { force: true });
    console.error("scripts/patch-ssh2.mjs: rebuilding ssh2's native binding failed; ssh2 will use its JavaScript ciphers");
  } else {
    console.log("scripts/patch-ssh2.mjs: rebuilt ssh2's native binding from the patched source");
  }
}

patch(
  join(lib, 'protocol', 'crypto.js'),
  'ssh2 skips its WebAssembly Poly1305 when the native binding computes it',
  'labd: the native binding has its own Poly1305',
  [
    {
      from: "        POLY1305_WASM_MODULE = await require('./crypto/poly1305.js')();\n",
      to:
        '        // labd: the native binding has its own Poly1305; the WebAssembly one (16 MiB of memory) is\n' +
        '        // for the JavaScript ciphers only.\n' +
        '        if (ChaChaPolyCipher && ChaChaPolyDecipher)\n          return resolve();\n' +
        "        POLY1305_WASM_MODULE = await require('./crypto/poly1305.js')();\n",
    },
  ],
);
