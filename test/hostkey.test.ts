import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'vitest';
import { newEd25519Key } from '../src/ssh/hostkey.ts';
import { ROOT, run, runAsync } from './support/labd.ts';
import { until } from './support/wait.ts';

test('generated host keys are valid OpenSSH keys, including those whose public key starts with zero bytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-hostkey-'));
  try {
    let zeroLed = 0;
    // One key in 256 starts with a zero byte; make enough to meet several, and check each with ssh-keygen.
    for (let i = 0; i < 2000; i++) {
      const key = newEd25519Key('t');
      const pk = Buffer.from(key.publicLine.split(' ')[1]!, 'base64').subarray(19);
      if (pk[0] !== 0 && i >= 3) continue;
      if (pk[0] === 0) zeroLed++;
      const file = join(dir, `k${i}`);
      writeFileSync(file, key.privatePem, { mode: 0o600 });
      const r = run('ssh-keygen', ['-y', '-P', '', '-f', file]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), key.publicLine);
    }
    assert.ok(zeroLed > 0, 'met a key with a leading zero byte');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replicas starting at once on an empty shared data dir end with one host key, and each loads that one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-hostkey-race-'));
  const barrier = mkdtempSync(join(tmpdir(), 'labd-hostkey-barrier-'));
  try {
    // Each process says it is ready, waits for the go, then loads-or-creates the key in the same empty dir.
    const script = (i: number) => `
      import { existsSync, writeFileSync } from 'node:fs';
      import { loadOrCreateHostKey } from ${JSON.stringify(join(ROOT, 'src/ssh/hostkey.ts'))};
      writeFileSync(${JSON.stringify(join(barrier, `ready-${i}`))}, '');
      const nap = new Int32Array(new SharedArrayBuffer(4));
      while (!existsSync(${JSON.stringify(join(barrier, 'go'))})) Atomics.wait(nap, 0, 0, 1);
      process.stdout.write(loadOrCreateHostKey(${JSON.stringify(dir)}).fingerprint);
    `;
    const n = 8;
    const runs = Promise.all(
      Array.from({ length: n }, (_, i) => runAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(i)], { cwd: ROOT })),
    );
    await until('every process to be ready', () => readdirSync(barrier).length === n);
    writeFileSync(join(barrier, 'go'), '');
    const done = await runs;
    for (const r of done) assert.equal(r.status, 0, r.stderr);
    const fingerprints = new Set(done.map((r) => r.stdout));
    assert.equal(fingerprints.size, 1, [...fingerprints].join(' '));
    assert.deepEqual(readdirSync(dir).sort(), ['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub']);
    const pub = run('ssh-keygen', ['-l', '-f', join(dir, 'ssh_host_ed25519_key.pub')]);
    assert.equal(pub.status, 0, pub.stderr);
    assert.ok(pub.stdout.includes([...fingerprints][0]!), `the .pub is the winning key's: ${pub.stdout}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(barrier, { recursive: true, force: true });
  }
});
