import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { until } from './support/wait.ts';

/** GET on a fresh connection: a pooled keep-alive socket may be closed by the server just as fetch reuses it. */
function get(url: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.once('error', reject);
    });
    req.once('error', reject);
  });
}

const MAX_SIZE = 2 * 1024 * 1024;

describe('paste over ssh and http', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let alice: string;
  let bob: string;
  const blobDir = () => join(labd.dataDir, 'pastes', 'blobs');
  const tmpDir = () => join(labd.dataDir, 'pastes', 'tmp');
  /** The bytes of every stored paste file, to check what storage holds. */
  const storedFiles = () => readdirSync(blobDir()).map((f) => readFileSync(join(blobDir(), f)));

  before(async () => {
    admin = lab.key('admin');
    alice = lab.key('alice');
    bob = lab.key('bob');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_PASTE_MAX_SIZE: String(MAX_SIZE), LABD_PASTE_SWEEP_INTERVAL: '1s' } });
    for (const [name, key] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      const r = await labd.ssh(admin, ['user', 'add', name, '--role', 'member', '--key', `'${lab.publicKey(key)}'`]);
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  test('a text paste prints its link and comes back byte for byte over http', async () => {
    const text = '# Notes\n\nüñí <b>bold</b> & tabs\there\r\nlast line without newline';
    const r = await labd.ssh(alice, ['paste', 'notes.md'], { input: text });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `http://127.0.0.1:${labd.httpPort}/p/alice/notes.md\n`);
    const raw = await get(`${r.stdout.trim()}/raw`);
    assert.equal(raw.status, 200);
    assert.equal(raw.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(raw.headers['x-content-type-options'], 'nosniff');
    assert.deepEqual(raw.body, Buffer.from(text));
  });

  test('a 1 MiB random binary paste comes back byte for byte over http and with paste cat', async () => {
    const bytes = randomBytes(1024 * 1024);
    const r = await labd.ssh(alice, ['paste', 'blob.bin'], { input: bytes });
    assert.equal(r.status, 0, r.stderr);
    const raw = await get(`${r.stdout.trim()}/raw`);
    assert.equal(raw.status, 200);
    assert.equal(raw.headers['content-type'], 'application/octet-stream');
    assert.equal(raw.headers['x-content-type-options'], 'nosniff');
    assert.ok(raw.body.equals(bytes), 'http bytes differ');
    const cat = await labd.ssh(alice, ['paste', 'cat', 'blob.bin']);
    assert.equal(cat.status, 0, cat.stderr);
    assert.ok(cat.stdoutBuffer.equals(bytes), 'paste cat bytes differ');
    const page = await get(r.stdout.trim());
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /Binary paste/);
  });

  test('without a name a paste gets a generated one; --json prints one document', async () => {
    const r = await labd.ssh(alice, ['paste', '--json'], { input: 'anonymous\n' });
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { name: string; url: string; size: number; binary: boolean };
    assert.match(doc.name, /^[a-z0-9]{8}$/);
    assert.equal(doc.size, 10);
    assert.equal(doc.binary, false);
    assert.equal((await get(`${doc.url}/raw`)).body.toString(), 'anonymous\n');
  });

  test('paste ls lists your pastes; hidden ones only with --all, yet reachable by their link', async () => {
    const hidden = await labd.ssh(alice, ['paste', 'secret.txt', '--hidden'], { input: 'psst' });
    assert.equal(hidden.status, 0, hidden.stderr);
    const link = hidden.stdout.trim();
    const name = link.slice(link.lastIndexOf('/') + 1);
    assert.match(name, /^[a-z0-9]{24}-secret\.txt$/);
    assert.equal((await get(`${link}/raw`)).body.toString(), 'psst');

    const ls = await labd.ssh(alice, ['paste', 'ls']);
    assert.equal(ls.status, 0, ls.stderr);
    assert.match(ls.stdout, /notes\.md/);
    assert.doesNotMatch(ls.stdout, /secret/);
    const all = JSON.parse((await labd.ssh(alice, ['paste', 'ls', '--all', '--json'])).stdout) as { name: string; hidden: boolean }[];
    assert.ok(all.some((p) => p.name === name && p.hidden));
    const bobs = JSON.parse((await labd.ssh(bob, ['paste', 'ls', '--json'])).stdout) as unknown[];
    assert.deepEqual(bobs, []);
  });

  test("a hidden paste's page without its secret is refused by the registry (paste-page on the http surface); with it, served", async () => {
    const hidden = await labd.ssh(alice, ['paste', 'plans.md', '--hidden'], { input: 'the plan' });
    assert.equal(hidden.status, 0, hidden.stderr);
    const link = hidden.stdout.trim();
    const counted = async (outcome: string) => {
      const metrics = (await get(`http://127.0.0.1:${labd.httpPort}/metrics`)).body.toString();
      return Number(
        new RegExp(`labd_command_duration_seconds_count\\{command="paste-page",surface="http",outcome="${outcome}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0,
      );
    };
    const refusedBefore = await counted('not_found');
    // The readable part of the name alone, on the page and the raw view: not found, and counted by the registry.
    for (const url of [`http://127.0.0.1:${labd.httpPort}/p/alice/plans.md`, `http://127.0.0.1:${labd.httpPort}/p/alice/plans.md/raw`]) {
      const r = await get(url);
      assert.equal(r.status, 404, url);
      assert.equal(r.body.toString(), 'no such paste (it may have expired)\n');
    }
    assert.equal(await counted('not_found'), refusedBefore + 2);
    const okBefore = await counted('ok');
    assert.equal((await get(`${link}/raw`)).body.toString(), 'the plan');
    assert.equal((await get(link)).status, 200);
    assert.equal(await counted('ok'), okBefore + 2);
  });

  test('the same name again replaces the paste', async () => {
    assert.equal((await labd.ssh(alice, ['paste', 'todo.txt'], { input: 'first' })).status, 0);
    const r = await labd.ssh(alice, ['paste', 'todo.txt'], { input: 'second version' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await get(`${r.stdout.trim()}/raw`)).body.toString(), 'second version');
    assert.equal((await labd.ssh(alice, ['paste', 'cat', 'todo.txt'])).stdout, 'second version');
    const asJson = JSON.parse((await labd.ssh(alice, ['paste', 'cat', 'todo.txt', '--json'])).stdout) as { name: string; text: string };
    assert.equal(asJson.name, 'todo.txt');
    assert.equal(asJson.text, 'second version');
    const names = (JSON.parse((await labd.ssh(alice, ['paste', 'ls', '--json'])).stdout) as { name: string }[]).map((p) => p.name);
    assert.equal(names.filter((n) => n === 'todo.txt').length, 1);
    assert.ok(!storedFiles().some((b) => b.toString() === 'first'), 'the replaced bytes are gone from storage');
  });

  test('paste rm needs --yes, then the paste is gone everywhere', async () => {
    assert.equal((await labd.ssh(alice, ['paste', 'gone.txt'], { input: 'bye' })).status, 0);
    const noYes = await labd.ssh(alice, ['paste', 'rm', 'gone.txt']);
    assert.equal(noYes.status, 2);
    assert.match(noYes.stderr, /--yes/);
    const rm = await labd.ssh(alice, ['paste', 'rm', 'gone.txt', '--yes', '--json']);
    assert.equal(rm.status, 0, rm.stderr);
    assert.deepEqual(JSON.parse(rm.stdout), { owner: 'alice', name: 'gone.txt', removed: true });
    assert.equal((await labd.ssh(alice, ['paste', 'cat', 'gone.txt'])).status, 4);
    assert.equal((await labd.ssh(alice, ['paste', 'rm', 'gone.txt', '--yes'])).status, 4);
    assert.equal((await get(`http://127.0.0.1:${labd.httpPort}/p/alice/gone.txt`)).status, 404);
    assert.equal((await get(`http://127.0.0.1:${labd.httpPort}/p/alice/gone.txt/raw`)).status, 404);
  });

  test("other users' pastes are untouchable; admins may remove them", async () => {
    assert.equal((await labd.ssh(alice, ['paste', 'mine.txt'], { input: 'alice only' })).status, 0);
    const denied = await labd.ssh(bob, ['paste', 'rm', 'alice/mine.txt', '--yes']);
    assert.equal(denied.status, 3, denied.stderr);
    assert.equal((await labd.ssh(bob, ['paste', 'rm', 'mine.txt', '--yes'])).status, 4);
    assert.equal((await labd.ssh(bob, ['paste', 'ls', '--user', 'alice'])).status, 3);
    // bob's upload under the same name lands in his own namespace
    assert.equal((await labd.ssh(bob, ['paste', 'mine.txt'], { input: 'bob' })).status, 0);
    assert.equal((await get(`http://127.0.0.1:${labd.httpPort}/p/alice/mine.txt/raw`)).body.toString(), 'alice only');
    const listed = JSON.parse((await labd.ssh(admin, ['paste', 'ls', '--user', 'alice', '--json'])).stdout) as { name: string }[];
    assert.ok(listed.some((p) => p.name === 'mine.txt'));
    assert.equal((await labd.ssh(admin, ['paste', 'rm', 'alice/mine.txt', '--yes'])).status, 0);
    assert.equal((await get(`http://127.0.0.1:${labd.httpPort}/p/alice/mine.txt/raw`)).status, 404);
    assert.equal((await get(`http://127.0.0.1:${labd.httpPort}/p/bob/mine.txt/raw`)).body.toString(), 'bob');
  });

  test('bad --expires and hostile names exit 2 and store nothing', async () => {
    const before = readdirSync(blobDir()).length;
    for (const bad of ['5x', '0s', '-1h', 'soon', '99999d']) {
      const r = await labd.ssh(alice, ['paste', 'e.txt', '--expires', bad], { input: 'x' });
      assert.equal(r.status, 2, `--expires ${bad}: ${r.stderr}`);
      assert.match(r.stderr, /^error: --expires/);
    }
    for (const bad of ['../x', 'a/b', '.profile', "'a\x01b'", "'a\x1b[31mb'", 'x'.repeat(101), "'a b'"]) {
      const r = await labd.ssh(alice, ['paste', bad], { input: 'x' });
      assert.equal(r.status, 2, `name ${JSON.stringify(bad)}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\x1b|\x01/);
    }
    assert.equal((await labd.ssh(alice, ['paste', '--', '-x'], { input: 'x' })).status, 2);
    assert.equal((await labd.ssh(alice, ['paste', 'empty.txt'], { input: '' })).status, 2);
    assert.equal(readdirSync(blobDir()).length, before);
    assert.equal((await labd.ssh(alice, ['paste', 'cat', 'e.txt'])).status, 4);
  });

  test('input over the size limit is refused with a clear error and leaves nothing', async () => {
    const r = await labd.ssh(alice, ['paste', 'huge.bin'], { input: randomBytes(MAX_SIZE + 1) });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /too large.*2097152 bytes/);
    assert.equal((await labd.ssh(alice, ['paste', 'cat', 'huge.bin'])).status, 4);
    await until('the temp dir to be empty', () => readdirSync(tmpDir()).length === 0);
    const exact = await labd.ssh(alice, ['paste', 'exact.bin'], { input: randomBytes(MAX_SIZE) });
    assert.equal(exact.status, 0, exact.stderr);
  });

  test('an upload cut off half-way (ssh client killed) stores nothing', async () => {
    const child = spawn('ssh', [...labd.sshArgs(alice), '--', 'paste', 'cutoff.bin'], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.on('error', () => {});
    child.stdin.write(randomBytes(512 * 1024));
    // Wait until the server is writing the upload, then kill the client without an end-of-file.
    await until('the upload to reach the server', () => readdirSync(tmpDir()).some((f) => statSync(join(tmpDir(), f)).size > 0));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await until('the partial upload to be removed', () => readdirSync(tmpDir()).length === 0);
    assert.equal((await labd.ssh(alice, ['paste', 'cat', 'cutoff.bin'])).status, 4);
    const names = (JSON.parse((await labd.ssh(alice, ['paste', 'ls', '--all', '--json'])).stdout) as { name: string }[]).map((p) => p.name);
    assert.ok(!names.includes('cutoff.bin'));
    const audit = JSON.parse((await labd.ssh(admin, ['audit', '--json'])).stdout) as {
      actor: string;
      command: string;
      outcome: string;
      error: string | null;
    }[];
    assert.ok(
      audit.some((a) => a.actor === 'alice' && a.command === 'paste' && a.outcome === 'failed' && /interrupted/.test(a.error ?? '')),
      'the cut-off upload is audited as interrupted',
    );
  });

  test('an expired paste disappears from every view and is swept from storage', async () => {
    const marker = `expiring ${randomBytes(8).toString('hex')}`;
    const r = await labd.ssh(alice, ['paste', 'brief.txt', '--expires', '2s'], { input: marker });
    assert.equal(r.status, 0, r.stderr);
    const link = r.stdout.trim();
    await until('the paste to expire', async () => (await labd.ssh(alice, ['paste', 'cat', 'brief.txt'])).status === 4);
    assert.equal((await get(link)).status, 404);
    assert.equal((await get(`${link}/raw`)).status, 404);
    const names = (JSON.parse((await labd.ssh(alice, ['paste', 'ls', '--all', '--json'])).stdout) as { name: string }[]).map((p) => p.name);
    assert.ok(!names.includes('brief.txt'));
    assert.equal((await labd.ssh(alice, ['paste', 'rm', 'brief.txt', '--yes'])).status, 4);
    await until('the sweeper to delete the bytes', () => !storedFiles().some((b) => b.toString() === marker));
  });

  test('unknown pastes and hostile paths are 404', async () => {
    const base = `http://127.0.0.1:${labd.httpPort}/p`;
    for (const path of ['/alice/nope.txt', '/nobody/notes.md', '/alice/..%2F..%2Flabd.db', '/alice/%2e%2e', '/Alice/notes.md', '/alice/notes.md/raw/x']) {
      const res = await get(base + path);
      assert.equal(res.status, 404, path);
    }
    assert.ok(existsSync(join(labd.dataDir, 'labd.db')));
  });
});
