import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'vitest';
import { KeyLab, LabdProcess, labdCommand, ROOT, run } from './support/labd.ts';

test('health, readiness and Prometheus metrics', async () => {
  const lab = new KeyLab();
  const key = lab.key('admin');
  const labd = await LabdProcess.start({ adminKeys: [lab.publicKey(key)] });
  try {
    const base = `http://127.0.0.1:${labd.httpPort}`;
    assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    const readiness = (await ready.json()) as { checks: { database: boolean }; details?: { database?: string } };
    assert.equal(readiness.checks.database, true);
    assert.match(readiness.details?.database ?? '', /^sqlite .*labd\.db$/, 'readiness says which database answers');
    assert.equal(labd.ssh(key, ['whoami']).status, 0);
    assert.equal(labd.ssh(lab.key('stranger'), ['whoami']).status, 255);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /labd_ssh_sessions_active/);
    assert.match(metrics, /labd_auth_attempts_total\{method="key",result="accepted"\} [1-9]/);
    assert.match(metrics, /labd_auth_attempts_total\{method="key",result="rejected"\} [1-9]/);
    assert.match(metrics, /labd_command_duration_seconds_count\{command="whoami",surface="ssh",outcome="ok"\} 1/);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  } finally {
    await labd.stop();
    lab.cleanup();
  }
});

test('logs are JSON lines and carry no secrets', async () => {
  const lab = new KeyLab();
  const key = lab.key('admin');
  const labd = await LabdProcess.start({ adminKeys: [lab.publicKey(key)] });
  try {
    labd.ssh(key, ['whoami']);
  } finally {
    await labd.stop();
    lab.cleanup();
  }
  const lines = labd.logs().split('\n').filter(Boolean);
  assert.ok(lines.length > 2);
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
  assert.ok(lines.some((l) => JSON.parse(l).msg === 'labd listening' && /^SHA256:/.test(JSON.parse(l).hostKey)));
  assert.doesNotMatch(labd.logs(), /PRIVATE KEY/);
});

test('SIGTERM shuts down gracefully; the host key is created once and kept', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labd-keep-'));
  try {
    const first = await LabdProcess.start({ dataDir });
    const hostKey = readFileSync(join(dataDir, 'ssh_host_ed25519_key.pub'), 'utf8');
    await first.stop();
    assert.equal(await first.exited, 0);
    assert.match(first.logs(), /shutting down/);
    const second = await LabdProcess.start({ dataDir });
    await second.stop();
    assert.equal(readFileSync(join(dataDir, 'ssh_host_ed25519_key.pub'), 'utf8'), hostKey);
    const fingerprints = [first, second].map(
      (p) =>
        JSON.parse(
          p
            .logs()
            .split('\n')
            .find((l) => l.includes('labd listening'))!,
        ).hostKey,
    );
    assert.equal(fingerprints[0], fingerprints[1]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('labd migrate applies migrations and exits', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labd-migrate-'));
  try {
    const r = run(process.execPath, labdCommand(['migrate']), {
      cwd: ROOT,
      env: { PATH: process.env.PATH, LABD_DATA_DIR: dataDir },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /migrations applied/);
    const again = run(process.execPath, labdCommand(['migrate']), {
      cwd: ROOT,
      env: { PATH: process.env.PATH, LABD_DATA_DIR: dataDir },
    });
    assert.equal(again.status, 0, again.stderr);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
