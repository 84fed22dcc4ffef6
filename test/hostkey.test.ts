import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'vitest';
import { newEd25519Key } from '../src/ssh/hostkey.ts';
import { run } from './support/labd.ts';

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
