/**
 * Pub/sub across two labd replicas (two in-process labds, each with its own data dir) joined by a
 * real nats-server, driven with the real OpenSSH client: what issue #21 item 1 asks.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { startPostgresServer, type PostgresServer } from './support/postgres-server.ts';
import { NatsServer, natsServerAvailable } from './support/nats-server.ts';
import { until } from './support/wait.ts';

class SshClient {
  readonly child: ChildProcess;
  private readonly out: Buffer[] = [];
  bytes = 0;
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(labd: InProcessLabd, key: string, command: string[], o: { stdin?: boolean; readStdout?: boolean } = {}) {
    this.child = spawn('ssh', [...labd.sshArgs(key), '--', ...command], { stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    if (o.readStdout !== false)
      this.child.stdout!.on('data', (d: Buffer) => {
        this.out.push(d);
        this.bytes += d.length;
      });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdin?.on('error', (e: Error) => (this.stderr += `[stdin: ${e.message}]`));
    this.exited = new Promise((res) => this.child.on('close', (code) => res(code)));
  }

  get stdout(): Buffer {
    return Buffer.concat(this.out);
  }

  get text(): string {
    return this.stdout.toString();
  }

  end(data?: string | Buffer): void {
    this.child.stdin!.end(data);
  }

  kill(): void {
    this.child.kill('SIGTERM');
  }
}

interface TopicRow {
  topic: string;
  access: string;
  subscribers: number;
  publishers: number;
  pipes: number;
  waiting: number;
}

test('nats.url: LABD_NATS_URL and its credentials files are read; a bad URL is one line that does not echo it', () => {
  const c = loadConfig({ LABD_NATS_URL: 'nats://a:4222,tls://b:4222', LABD_NATS_CREDS: '/run/nats/labd.creds', LABD_NATS_TLS_CA: '/ca.pem' });
  assert.equal(c.nats.url, 'nats://a:4222,tls://b:4222');
  assert.equal(c.nats.creds, '/run/nats/labd.creds');
  assert.equal(c.nats.tls.ca, '/ca.pem');
  assert.equal(loadConfig({}).nats.url, undefined);
  assert.throws(
    () => loadConfig({ LABD_NATS_URL: 'http://user:hunter2@nats:4222' }),
    (err: Error) =>
      err instanceof ConfigError && /^config: nats\.url \(LABD_NATS_URL\): expected nats:\/\/host:4222/.test(err.message) && !/hunter2/.test(err.message),
  );
});

describe.skipIf(!natsServerAvailable())('pub/sub across two labd replicas over NATS', () => {
  const lab = new KeyLab();
  let nats: NatsServer;
  let one: InProcessLabd;
  let two: InProcessLabd;
  let admin: string;
  let alice: string;
  let bob: string;
  let postgres: PostgresServer | undefined;
  const clients: SshClient[] = [];
  const client = (labd: InProcessLabd, key: string, command: string[], o?: { stdin?: boolean; readStdout?: boolean }) => {
    const c = new SshClient(labd, key, command, o);
    clients.push(c);
    return c;
  };
  const topicsOf = async (labd: InProcessLabd, key: string): Promise<TopicRow[]> => {
    const c = new SshClient(labd, key, ['topics', '--json']);
    assert.equal(await c.exited, 0, c.stderr);
    return JSON.parse(c.text) as TopicRow[];
  };
  const topicWhere = (labd: InProcessLabd, key: string, topic: string, ok: (t: TopicRow) => boolean) =>
    until(`${topic} to reach the expected counts`, async () => (await topicsOf(labd, key)).find((t) => t.topic === topic && ok(t)));

  beforeAll(async () => {
    admin = lab.key('admin');
    alice = lab.key('alice');
    bob = lab.key('bob');
    nats = await NatsServer.start();
    // Two replicas of one labd: one PostgreSQL, one nats-server.
    postgres = await startPostgresServer();
    await postgres.createDatabase('pubsub');
    const env = {
      LABD_NATS_URL: nats.url,
      LABD_DATABASE_URL: postgres.url('pubsub'),
      LABD_PUBSUB_SUBSCRIBER_BUFFER: String(256 * 1024),
      LABD_LOG_LEVEL: 'info',
    };
    [one, two] = await Promise.all([
      InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env }),
      InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env }),
    ]);
    // Users added on one replica are the other's too (one database).
    for (const [name, key] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      const r = await one.ssh(admin, ['user', 'add', name, '--role', 'member', '--key', `'${lab.publicKey(key)}'`]);
      assert.equal(r.status, 0, r.stderr);
    }
  });
  afterAll(async () => {
    for (const c of clients) if (c.child.exitCode === null) c.kill();
    await Promise.all([one?.stop(), two?.stop()]);
    await nats?.stop();
    await postgres?.stop();
    lab.cleanup();
  });

  test('/readyz names the NATS connection', async () => {
    const body = (await (await fetch(`http://127.0.0.1:${one.httpPort}/readyz`)).json()) as { status: string; checks: Record<string, boolean> };
    assert.equal(body.status, 'ready');
    assert.equal(body.checks.nats, true);
  });

  test('pub on one replica waits until a sub on the other arrives, then the message is received', async () => {
    const p = client(one, alice, ['pub', 'wait'], { stdin: true });
    p.end('kept\n');
    await until('the waiting notice', () => p.stderr.includes('waiting for a subscriber on alice/wait'));
    await topicWhere(two, alice, 'alice/wait', (t) => t.waiting === 1 && t.publishers === 1);
    assert.equal(p.child.exitCode, null, 'a blocking pub is still waiting');
    const s = client(two, alice, ['sub', 'wait']);
    assert.equal(await p.exited, 0, p.stderr);
    assert.equal(await s.exited, 0, s.stderr);
    assert.equal(s.text, 'kept\n');
    await until('the topic to go on both', async () => !(await topicsOf(one, alice)).length && !(await topicsOf(two, alice)).length);
  });

  test('multicast: subscribers on both replicas get every message; pub -b=false on one drops what nobody takes', async () => {
    const s1 = client(one, alice, ['sub', 'news']);
    const s2 = client(two, alice, ['sub', 'news']);
    const s3 = client(two, alice, ['sub', 'alice/news']);
    await topicWhere(one, alice, 'alice/news', (t) => t.subscribers === 3);
    const p = client(two, alice, ['pub', 'news'], { stdin: true });
    p.end('hello\nworld\n');
    assert.equal(await p.exited, 0, p.stderr);
    for (const s of [s1, s2, s3]) {
      assert.equal(await s.exited, 0, s.stderr);
      assert.equal(s.text, 'hello\nworld\n');
    }
    const lost = client(one, alice, ['pub', '-b=false', '-c', 'drop'], { stdin: true });
    lost.end('nobody hears this\n');
    assert.equal(await lost.exited, 0, lost.stderr);
  });

  test.each(['one', 'two'] as const)(
    'a stalled subscriber on one replica is dropped and does not slow a fast one on the other (publisher on %s)',
    async (at) => {
      const topic = `bulk-${at}`;
      const slow = client(one, alice, ['sub', topic], { readStdout: false });
      const fast = client(two, alice, ['sub', topic]);
      await topicWhere(one, alice, `alice/${topic}`, (t) => t.subscribers === 2);
      const payload = randomBytes(8 * 1024 * 1024);
      const p = client(at === 'one' ? one : two, alice, ['pub', topic], { stdin: true });
      p.end(payload);
      assert.equal(await p.exited, 0, p.stderr);
      assert.equal(await fast.exited, 0, fast.stderr);
      assert.ok(fast.stdout.equals(payload), `the fast subscriber got ${fast.bytes} of ${payload.length} bytes`);
      // The stalled one fell more than 256 KiB behind: dropped, with the reason, once it reads again.
      slow.child.stdout!.resume();
      assert.equal(await slow.exited, 1);
      assert.match(slow.stderr, new RegExp(`dropped from alice/${topic}: fell more than 262144 bytes behind`));
    },
  );

  test('private and shared topics: the owner’s grant on one replica lets bob in on the other, and only bob', async () => {
    const own = client(one, alice, ['sub', '-k', 'secret']);
    await topicWhere(two, alice, 'alice/secret', (t) => t.subscribers === 1);
    const denied = client(two, bob, ['sub', 'alice/secret']);
    assert.equal(await denied.exited, 3);
    assert.match(denied.stderr, /permission denied: alice\/secret is alice's topic and is not shared with you/);
    assert.deepEqual(await topicsOf(two, bob), []);
    const widen = client(two, bob, ['sub', '-a', 'bob', 'alice/secret']);
    assert.equal(await widen.exited, 3);
    assert.match(widen.stderr, /only alice decides who may use alice\/secret/);

    const shared = client(one, alice, ['sub', '-k', '-a', 'bob', 'secret']);
    await until('two to hear of the grant', async () => (await topicsOf(two, bob)).find((t) => t.topic === 'alice/secret'));
    const b = client(two, bob, ['sub', 'alice/secret']);
    await topicWhere(one, alice, 'alice/secret', (t) => t.subscribers === 3);
    const p = client(one, alice, ['pub', 'secret'], { stdin: true });
    p.end('for bob\n');
    assert.equal(await p.exited, 0, p.stderr);
    assert.equal(await b.exited, 0, b.stderr);
    assert.equal(b.text, 'for bob\n');
    own.kill();
    shared.kill();
    await Promise.all([own.exited, shared.exited]);
  });

  test('sub -k on one replica stays across publishers on the other', async () => {
    const s = client(two, alice, ['sub', '-k', 'keep']);
    await topicWhere(one, alice, 'alice/keep', (t) => t.subscribers === 1);
    for (const text of ['one\n', 'two\n']) {
      const p = client(one, alice, ['pub', 'keep'], { stdin: true });
      p.end(text);
      assert.equal(await p.exited, 0, p.stderr);
      await topicWhere(two, alice, 'alice/keep', (t) => t.publishers === 0 && t.subscribers === 1);
    }
    await until('both messages', () => s.text === 'one\ntwo\n');
    assert.equal(s.child.exitCode, null);
    s.kill();
    await s.exited;
  });

  test('pipe: clients on both replicas hear each other', async () => {
    const a = client(one, alice, ['pipe', 'chat'], { stdin: true });
    const b = client(two, alice, ['pipe', 'chat'], { stdin: true });
    await topicWhere(one, alice, 'alice/chat', (t) => t.pipes === 2);
    a.child.stdin!.write('from one\n');
    await until('two to hear one', () => b.text === 'from one\n');
    b.child.stdin!.write('from two\n');
    await until('one to hear two', () => a.text === 'from two\n');
    a.end();
    b.end();
    assert.equal(await a.exited, 0, a.stderr);
    assert.equal(await b.exited, 0, b.stderr);
  });

  test('NATS down at start: labd does not start, and says why', async () => {
    const gone = await NatsServer.start();
    await gone.stop();
    await assert.rejects(
      InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_NATS_URL: `nats://labd:hunter2@127.0.0.1:${gone.port}` } }),
      (err: Error) => /config: nats\.url \(LABD_NATS_URL\): cannot connect to nats:\/\/127\.0\.0\.1:\d+/.test(err.message) && !/hunter2/.test(err.message),
    );
  });
});
