/**
 * Issue #24 items 3, 5 and the info/refs part of 6, each attack performed against labd in this
 * process by an anonymous client on a public repository:
 * - silent `git-upload-pack` sessions over SSH: the git processes labd holds never pass
 *   git.maxProcesses (nor git.maxProcessesPerClient from one address), the ones over are refused
 *   with a stderr line and exit status, HTTP gets 503 + Retry-After meanwhile, the silent ones end
 *   after git.idleTimeout, and a real clone works afterwards;
 * - parallel gzip bombs (15 KB inflating to 15 MiB) on POST git-upload-pack: RSS growth stays far
 *   below the 1.4 GB seen, requests past git.httpMaxInflight are refused with 503 (never 500);
 * - 40 parallel info/refs on a repository with 20,000 tags: each answer is a whole 200
 *   advertisement or a clean 503, never a 500.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import ssh2 from 'ssh2';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { GitLab } from './support/git.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { MiB, RssSampler } from './support/rss.ts';
import { until } from './support/wait.ts';

/** git processes that are children of this process (labd runs in it): upload-pack and friends. */
function gitChildren(): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      if (/upload-pack|receive-pack/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) n++;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

/** A keyless (keyboard-interactive, no prompts) SSH connection from `localAddress`. */
function anonymousClient(port: number, localAddress: string): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.on('keyboard-interactive', (_n, _i, _l, _p, finish) => finish([]));
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port, localAddress, username: 'anon', tryKeyboard: true, authHandler: ['keyboard-interactive'], readyTimeout: 60_000 });
  });
}

interface Held {
  client: ssh2.Client;
  /** 'served': git's advertisement arrived; 'refused': the channel ended with an error line. */
  outcome: 'served' | 'refused';
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Starts `git-upload-pack 'REPO'` and then sends nothing. */
async function silentUploadPack(port: number, localAddress: string, repo: string): Promise<Held> {
  const client = await anonymousClient(port, localAddress);
  let stderr = '';
  let exited: (code: number | null) => void = () => undefined;
  const exit = new Promise<number | null>((resolve) => (exited = resolve));
  let served: () => void = () => undefined;
  const data = new Promise<void>((resolve) => (served = resolve));
  // Listeners go on in the exec callback itself: a refusal (stderr, exit-status, close) can arrive in
  // the same TCP read as the exec's reply (labd sets TCP_NODELAY), before an awaiting caller resumes.
  await new Promise<void>((resolve, reject) =>
    client.exec(`git-upload-pack '${repo}'`, (err, channel) => {
      if (err) return reject(err);
      channel.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      channel.once('exit', (code: number | null) => exited(code));
      channel.once('close', (code?: number | null) => exited(code ?? null));
      channel.once('data', () => served());
      resolve();
    }),
  );
  const outcome = await Promise.race([data.then(() => 'served' as const), exit.then(() => 'refused' as const)]);
  return { client, outcome, stderr: () => stderr, exit };
}

function httpGet(url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return send(url, 'GET', undefined, {});
}

function send(url: string, method: string, body: Buffer | undefined, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(body);
  });
}

describe('git transports: bounded processes, idle time-out, gzip bombs, many refs', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let git: GitLab;
  let alice: string;

  before(async () => {
    const admin = lab.key('admin');
    alice = lab.key('alice');
    labd = await InProcessLabd.start({
      adminKeys: [lab.publicKey(admin)],
      env: {
        LABD_GIT_ANON_ACCESS: 'read-only',
        LABD_GIT_IDLE_TIMEOUT: '3s',
        LABD_GIT_MAX_PROCESSES: '6',
        LABD_GIT_MAX_PROCESSES_PER_CLIENT: '3',
        LABD_GIT_HTTP_MAX_INFLIGHT: String(32 * MiB),
      },
    });
    git = new GitLab(labd);
    assert.equal((await labd.ssh(admin, ['user', 'add', 'alice', '--role', 'operator', '--key', `'${lab.publicKey(alice)}'`])).status, 0);
    for (const name of ['pub', 'tags']) {
      assert.equal((await labd.ssh(alice, ['repo', 'create', name])).status, 0);
      const wt = git.workTree({ 'README.md': `# ${name}\n`, 'main.c': 'int main(void) { return 0; }\n' }, 2);
      const push = await git.gitAsync(alice, ['push', git.url(name), 'main'], { cwd: wt });
      assert.equal(push.status, 0, push.stderr);
    }
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('silent upload-pack sessions: bounded in all and per address, refused clearly, ended when idle; a clone works after', async () => {
    const held: Held[] = [];
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, gitChildren())), 50);
    try {
      // Five from one address (3 per client), then three from each of two more (6 in all).
      for (const [address, count] of [
        ['127.0.0.2', 5],
        ['127.0.0.3', 3],
        ['127.0.0.4', 3],
      ] as const) {
        for (let i = 0; i < count; i++) held.push(await silentUploadPack(labd.sshPort, address, 'pub'));
      }
      most = Math.max(most, gitChildren());
      const served = held.filter((h) => h.outcome === 'served');
      const refused = held.filter((h) => h.outcome === 'refused');
      console.log(`silent upload-packs: ${served.length} served, ${refused.length} refused; git processes held at most ${most}`);
      assert.deepEqual(
        held.map((h) => h.outcome),
        ['served', 'served', 'served', 'refused', 'refused', 'served', 'served', 'served', 'refused', 'refused', 'refused'],
      );
      assert.ok(most <= 6, `labd held ${most} git processes`);
      for (const r of refused) {
        assert.equal(await r.exit, 1);
        assert.match(r.stderr(), /^error: too many git processes/m);
      }

      // While the bound is full, smart HTTP is refused too, with a time to come back.
      const busy = await httpGet(`http://127.0.0.1:${labd.httpPort}/git/pub.git/info/refs?service=git-upload-pack`);
      assert.equal(busy.status, 503, busy.body.toString());
      assert.ok(Number(busy.headers['retry-after']) > 0);

      // The silent ones are ended after git.idleTimeout (3 s), with a line saying why.
      const started = Date.now();
      for (const s of served) {
        assert.equal(await s.exit, 1);
        assert.match(s.stderr(), /nothing sent or read for 3s/);
      }
      console.log(`idle sessions ended ${Date.now() - started} ms after the last one started`);
      await until('git processes ended', () => gitChildren() === 0, { timeoutMs: 10_000 });
    } finally {
      clearInterval(sampler);
      for (const h of held) h.client.end();
    }
    const clone = await git.gitAsync(undefined, ['clone', '-q', git.url('pub'), join(git.dir, 'after-hold')]);
    assert.equal(clone.status, 0, clone.stderr);
    const overHttp = await git.gitAsync(undefined, ['clone', '-q', `http://127.0.0.1:${labd.httpPort}/git/pub.git`, join(git.dir, 'after-hold-http')]);
    assert.equal(overHttp.status, 0, overHttp.stderr);
  });

  test('a smart-HTTP fetch whose client stops reading the pack is ended after git.idleTimeout', async () => {
    assert.equal((await labd.ssh(alice, ['repo', 'create', 'big'])).status, 0);
    const wt = git.workTree({ 'noise.txt': randomBytes(24 * MiB).toString('base64') });
    // Straight into the bare repository: over SSH the client compresses 32 MiB for longer than this labd's 3 s idle time-out.
    const push = git.git(undefined, ['push', '-q', join(labd.dataDir, 'repos', 'big.git'), 'main'], { cwd: wt });
    assert.equal(push.status, 0, push.stderr);
    const sha = git.git(alice, ['rev-parse', 'HEAD'], { cwd: wt }).stdout.trim();
    const pkt = (line: string) => (line.length + 4).toString(16).padStart(4, '0') + line;
    const body = Buffer.from(pkt(`want ${sha}\n`) + '0000' + pkt('done\n'));
    const url = `http://127.0.0.1:${labd.httpPort}/git/big.git/git-upload-pack`;
    // Read the head of the answer, then nothing more: git fills the pipes and the socket and waits.
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/x-git-upload-pack-request' } }, resolve);
      req.once('error', reject);
      req.end(body);
    });
    assert.equal(res.statusCode, 200);
    let received = 0;
    // How the response ends, listened for from the start: on a busy machine labd may cut it off
    // while this test still waits for git to go, and an event that came before its listener is lost.
    const ended = new Promise<string>((resolve) => {
      res.once('end', () => resolve('end'));
      res.once('error', () => resolve('error'));
      res.once('close', () => resolve(res.complete ? 'end' : 'close'));
    });
    res.once('data', (d: Buffer) => {
      received += d.length;
      res.pause();
    });
    await until('git serving the pack', () => gitChildren() > 0, { timeoutMs: 10_000 });
    // labd ends git after 3 s without progress (this client's socket stays paused meanwhile).
    await until('git ended for want of a reader', () => gitChildren() === 0, { timeoutMs: 15_000 });
    res.on('data', (d: Buffer) => (received += d.length));
    res.resume();
    const how = await ended;
    console.log(`stalled HTTP fetch: ${received} bytes read in all, then the response ${how === 'end' ? 'ended' : 'was cut off'}`);
    assert.notEqual(how, 'end', 'the response was cut off, not completed');
  });

  test('80 parallel anonymous gzip bombs: RSS growth bounded, requests past the budget refused with 503, a clone still works', async () => {
    // 15 MiB of a byte git cannot read as a pkt-line, gzipped to ~15 KB: under git.httpMaxBody (16 MiB) each.
    const bomb = gzipSync(Buffer.alloc(15 * MiB, 'z'), { level: 9 });
    const url = `http://127.0.0.1:${labd.httpPort}/git/pub.git/git-upload-pack`;
    const headers = { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip' };
    const rss = new RssSampler(process.pid);
    const answers = await Promise.all(Array.from({ length: 80 }, () => send(url, 'POST', bomb, headers)));
    const growth = rss.stop();
    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    console.log(
      `gzip bombs (${bomb.length} bytes each, 80 in parallel): statuses ${JSON.stringify(Object.fromEntries(byStatus))}; RSS grew ${Math.round(growth / MiB)} MiB`,
    );
    assert.ok(
      [...byStatus.keys()].every((s) => s === 200 || s === 503),
      'every answer is 200 or 503',
    );
    assert.ok((byStatus.get(503) ?? 0) >= 40, 'most bombs were refused');
    const overBudget = answers.filter((a) => a.status === 503 && a.body.toString().includes('too many fetch requests in flight')).length;
    assert.ok(overBudget > 0, 'some were refused by git.httpMaxInflight itself');
    // Before: +1.4 GB. The budget is 32 MiB; the rest is the test's own buffers and the allocator.
    assert.ok(growth < 600 * MiB, `RSS grew ${Math.round(growth / MiB)} MiB`);
    await until('git processes ended', () => gitChildren() === 0, { timeoutMs: 10_000 });
    const clone = await git.gitAsync(undefined, ['clone', '-q', `http://127.0.0.1:${labd.httpPort}/git/pub.git`, join(git.dir, 'after-bombs')]);
    assert.equal(clone.status, 0, clone.stderr);
  });

  test('bodies cut off mid-way give their bytes back to the in-flight budget', async () => {
    const url = `http://127.0.0.1:${labd.httpPort}/git/pub.git/git-upload-pack`;
    // Two clients send 14 MiB of a declared 15 MiB each (28 of the 32 MiB budget), then vanish.
    for (let i = 0; i < 2; i++) {
      const req = request(url, {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/x-git-upload-pack-request', 'content-length': String(15 * MiB) },
      });
      req.on('error', () => undefined);
      req.write(Buffer.alloc(14 * MiB, 'z'));
      await new Promise((r) => setTimeout(r, 1000));
      req.destroy();
    }
    // Had they kept their bytes, a 15 MiB body would be over the budget (503).
    const bomb = gzipSync(Buffer.alloc(15 * MiB, 'z'));
    const res = await until(
      'a 15 MiB body accepted',
      async () => {
        const r = await send(url, 'POST', bomb, { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip' });
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 10_000 },
    );
    assert.equal(res.status, 200);
  });

  test('40 parallel info/refs on a repository with 20,000 tags: a whole advertisement or a clean 503, never a 500', async () => {
    const dir = join(labd.dataDir, 'repos', 'tags.git');
    const head = spawnSync('git', ['--git-dir', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    const lines = Array.from({ length: 20_000 }, (_, i) => `create refs/tags/t${i} ${head}\n`).join('');
    const made = spawnSync('git', ['--git-dir', dir, 'update-ref', '--stdin'], { input: lines, encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const url = `http://127.0.0.1:${labd.httpPort}/git/tags.git/info/refs?service=git-upload-pack`;
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, gitChildren())), 20);
    const answers = await Promise.all(Array.from({ length: 40 }, () => httpGet(url))).finally(() => clearInterval(sampler));
    assert.ok(most <= 6, `labd held ${most} git processes`);
    const statuses = answers.map((a) => a.status);
    console.log(
      `info/refs x40 on 20,000 tags: ${statuses.filter((s) => s === 200).length} x 200, ${statuses.filter((s) => s === 503).length} x 503; git processes held at most ${most}`,
    );
    for (const a of answers) {
      assert.ok(a.status === 200 || a.status === 503, `status ${a.status}: ${a.body.subarray(0, 200).toString()}`);
      if (a.status === 200) {
        const text = a.body.toString('latin1');
        assert.ok(text.includes('refs/tags/t19999'), 'the advertisement has every tag');
        assert.ok(text.endsWith('0000'), 'the advertisement is whole');
      } else assert.ok(Number(a.headers['retry-after']) > 0);
    }
    assert.ok(statuses.includes(200));
  });
});
