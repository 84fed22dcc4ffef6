/** A module whose backend is not configured says so (exit 1), and `help` marks it; configured ones are probed. */
import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { freePort, KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { until } from './support/wait.ts';

interface HelpEntry {
  command: string;
  backend?: string;
  configured?: boolean;
  reachable?: boolean | null;
}

describe('modules without a configured backend', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;

  before(async () => {
    admin = lab.key('admin');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
  });
  after(async () => {
    await labd.stop();
    lab.cleanup();
  });

  test('alerts, ack and unack say no Alertmanager is configured and exit 1, as nodes does', async () => {
    for (const argv of [['alerts'], ['alerts', '--all'], ['ack', '3', 'looking'], ['unack', '3']]) {
      const r = await labd.sshAsync(admin, argv);
      assert.equal(r.status, 1, argv.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^error: no Alertmanager configured \(set LABD_ALERTMANAGER_URL[^\n]*\n$/, argv.join(' '));
    }
    const nodes = await labd.sshAsync(admin, ['nodes']);
    assert.equal(nodes.status, 1);
    assert.match(nodes.stderr, /^error: no Kubernetes cluster configured/);
    // --help still answers: it needs no backend.
    assert.equal((await labd.sshAsync(admin, ['alerts', '--help'])).status, 0);
  });

  test('help marks the commands whose backend is not configured, and says what to set', async () => {
    const r = await labd.sshAsync(admin, ['help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\s+alerts\s+.*\[not configured\]$/m);
    assert.match(r.stdout, /^\s+nodes\s+.*\[not configured\]$/m);
    assert.match(r.stdout, /^\s+whoami\s+(?!.*not configured).*$/m);
    assert.match(r.stdout, /^\[not configured\] no Alertmanager configured \(set LABD_ALERTMANAGER_URL/m);
    const json = JSON.parse((await labd.sshAsync(admin, ['help', '--json'])).stdout) as HelpEntry[];
    assert.deepEqual(
      json.find((c) => c.command === 'alerts'),
      { ...json.find((c) => c.command === 'alerts'), backend: 'alertmanager', configured: false },
    );
    assert.equal(json.find((c) => c.command === 'deploys')?.configured, false);
    assert.equal(json.find((c) => c.command === 'whoami')?.backend, undefined);
  });
});

describe('a configured backend that cannot be reached', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;

  before(async () => {
    admin = lab.key('admin');
    // Nothing listens on this port: Alertmanager is configured but down.
    const port = await freePort();
    labd = await InProcessLabd.start({
      adminKeys: [lab.publicKey(admin)],
      env: { LABD_ALERTMANAGER_URL: `http://127.0.0.1:${port}`, LABD_WEBHOOK_TOKEN: 'a-token-of-16-chars-or-more' },
    });
  });
  after(async () => {
    await labd.stop();
    lab.cleanup();
  });

  test('help --json says configured and not reachable; the commands are not marked', async () => {
    const entry = await until('the Alertmanager probe', async () => {
      const json = JSON.parse((await labd.sshAsync(admin, ['help', '--json'])).stdout) as HelpEntry[];
      const e = json.find((c) => c.command === 'ack');
      return e?.reachable === false && e;
    });
    assert.equal(entry.configured, true);
    const text = (await labd.sshAsync(admin, ['help'])).stdout;
    assert.doesNotMatch(text, /^\s+ack\s+.*not configured/m);
    assert.match(text, /^\s+nodes\s+.*\[not configured\]$/m);
    // The local list still answers (the alerts come by webhook); an ack needs the API and fails with exit 1.
    assert.equal((await labd.sshAsync(admin, ['alerts'])).status, 0);
  });
});
