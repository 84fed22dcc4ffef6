/**
 * Resize floods (issue 10, item 4): a guest at the TUI sends hundreds of window-change requests
 * with a hand-driven ssh2 client. labd redraws at most once per frame (the latest size wins),
 * slows a session that keeps resizing, caps the screen size, and /healthz keeps answering.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerChannel } from 'ssh2';
import type ssh2 from 'ssh2';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { RESIZE_BURST, RESIZE_SLOW_MS, TerminalPort, clampSize } from '../src/ssh/tui/terminal.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { keyClient } from './support/ssh2-client.ts';
import { until } from './support/wait.ts';

/** Polls /healthz back to back and keeps each answer's latency. */
function healthzProbe(httpPort: number): { stop(): Promise<{ latencies: number[]; failures: number }> } {
  const latencies: number[] = [];
  let failures = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`, { signal: AbortSignal.timeout(60_000) });
        await res.arrayBuffer();
        if (res.status === 200) latencies.push(performance.now() - t0);
        else failures++;
      } catch {
        failures++;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { latencies, failures };
    },
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

describe('resize floods', () => {
  test('the terminal port coalesces window changes: one redraw for a burst, the latest size wins, a session that keeps resizing is slowed', async () => {
    const channel = Object.assign(new EventEmitter(), { destroyed: false, writable: true, writableLength: 0, write: () => true });
    const port = new TerminalPort(
      channel as unknown as ServerChannel,
      { cols: 80, rows: 24 },
      (err) => assert.fail(String(err)),
      () => undefined,
    );
    let redraws = 0;
    port.output.on('resize', () => redraws++);
    for (let i = 0; i < 300; i++) port.resize(i % 2 ? 1e6 : 250, i % 2 ? 1e6 : 90);
    port.resize(100, 30);
    await until('the final size to be applied', () => port.output.columns === 100 && port.output.rows === 30);
    assert.equal(redraws, 1, 'a burst of 301 window changes is one redraw');

    // A sustained flood: a window change every few ms for a while.
    redraws = 0;
    const started = Date.now();
    for (let i = 0; i < 400; i++) {
      port.resize(120 + (i % 2), 40);
      await new Promise((r) => setTimeout(r, 5));
    }
    port.resize(90, 25);
    await until('the last size of the flood to be applied', () => port.output.columns === 90 && port.output.rows === 25, { timeoutMs: 10_000 });
    const elapsed = Date.now() - started;
    console.log(`sustained flood: 401 window changes over ${elapsed} ms, ${redraws} redraws`);
    // Fewer when the machine is slow, never more: a burst, then one per RESIZE_SLOW_MS.
    assert.ok(redraws <= RESIZE_BURST + Math.ceil(elapsed / RESIZE_SLOW_MS) + 1, `${redraws} redraws for 401 window changes in ${elapsed} ms`);
    assert.deepEqual(clampSize(1e6, 1e6), { cols: 300, rows: 120 });
    port.close();
  });

  describe('over SSH, against labd', () => {
    const lab = new KeyLab();
    let labd: InProcessLabd;
    let guestKey: string;
    let client: ssh2.Client | undefined;

    before(async () => {
      const admin = lab.key('admin');
      guestKey = lab.key('guest');
      labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
      const r = await labd.ssh(admin, ['user', 'add', 'eve', '--role', 'guest', '--key', `'${lab.publicKey(guestKey)}'`]);
      assert.equal(r.status, 0, r.stderr);
    });

    after(async () => {
      client?.end();
      await labd?.stop();
      lab.cleanup();
    });

    test('a guest sending 300 resizes gets a few redraws, not 300; /healthz keeps answering', async () => {
      client = await keyClient(labd.sshPort, guestKey, 'eve');
      client.on('error', () => undefined);
      const shell = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
        client!.shell({ term: 'xterm', cols: 100, rows: 30 }, { env: { LANG: 'C.UTF-8' } } as never, (err, ch) => (err ? reject(err) : resolve(ch))),
      );
      let screen = '';
      shell.on('data', (d: Buffer) => (screen += d.toString('utf8')));
      const closed = new Promise<void>((res) => shell.on('close', () => res()));
      const marker = 'Welcome to labd, eve.';
      await until('the home menu', () => screen.includes(marker));
      const drawnBefore = screen.split(marker).length - 1;

      const probe = healthzProbe(labd.httpPort);
      // The largest screens the old bounds allowed, alternating so each one is a real change.
      for (let i = 0; i < 300; i++) shell.setWindow(i % 2 ? 199 : 200, i % 2 ? 399 : 400, 0, 0);
      shell.write('q');
      await closed;
      const { latencies, failures } = await probe.stop();
      const redraws = screen.split(marker).length - 1 - drawnBefore;
      console.log(
        `300 resizes from a guest: ${redraws} redraws; /healthz during the flood: ${latencies.length} answers, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms, ${failures} failed`,
      );
      assert.equal(failures, 0, '/healthz failed during the resize flood');
      assert.ok(latencies.length > 0);
      assert.ok(redraws <= RESIZE_BURST, `labd redrew the screen ${redraws} times for 300 window changes`);
      const health = await fetch(`http://127.0.0.1:${labd.httpPort}/healthz`);
      assert.equal(health.status, 200);
    });
  });
});
