import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { until as waitFor } from './support/wait.ts';

/** A long-lived `ssh HOST COMMAND` with its output collected as it arrives. */
class SshClient {
  readonly child: ChildProcess;
  private readonly out: Buffer[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(labd: InProcessLabd, key: string, command: string[], o: { stdin?: boolean; readStdout?: boolean } = {}) {
    this.child = spawn('ssh', [...labd.sshArgs(key), '--', ...command], { stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    if (o.readStdout !== false) this.readStdout();
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    // ssh may exit before taking all of its stdin (a refused pub); that is the test's to judge, not an uncaught EPIPE.
    this.child.stdin?.on('error', (e: Error) => (this.stderr += `[stdin: ${e.message}]`));
    this.exited = new Promise((res) => this.child.on('close', (code) => res(code)));
  }

  readStdout(): void {
    this.child.stdout!.on('data', (d: Buffer) => this.out.push(d));
  }

  get stdout(): Buffer {
    return Buffer.concat(this.out);
  }

  get text(): string {
    return this.stdout.toString();
  }

  write(data: string | Buffer): void {
    this.child.stdin!.write(data);
  }

  end(data?: string | Buffer): void {
    this.child.stdin!.end(data);
  }

  kill(): void {
    this.child.kill('SIGTERM');
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface TopicRow {
  topic: string;
  access: string;
  subscribers: number;
  publishers: number;
  pipes: number;
  waiting: number;
}

describe('pub/sub over SSH', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let admin: string;
  let alice: string;
  let bob: string;
  let carol: string;
  const clients: SshClient[] = [];
  const client = (key: string, command: string[], o?: { stdin?: boolean; readStdout?: boolean }) => {
    const c = new SshClient(labd, key, command, o);
    clients.push(c);
    return c;
  };

  /** `topics --json` as a user, run asynchronously so the other clients keep flowing. */
  const topicsOf = async (key: string): Promise<TopicRow[]> => {
    const c = new SshClient(labd, key, ['topics', '--json']);
    const code = await c.exited;
    assert.equal(code, 0, c.stderr);
    return JSON.parse(c.text) as TopicRow[];
  };
  const topicWhere = (key: string, topic: string, ok: (t: TopicRow) => boolean) =>
    waitFor(`${topic} to reach the expected counts`, async () => (await topicsOf(key)).find((t) => t.topic === topic && ok(t)));

  before(async () => {
    admin = lab.key('admin');
    alice = lab.key('alice');
    bob = lab.key('bob');
    carol = lab.key('carol');
    // A small subscriber buffer so a stalled subscriber is cut off soon.
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_PUBSUB_SUBSCRIBER_BUFFER: String(256 * 1024) } });
    for (const [name, key] of [
      ['alice', alice],
      ['bob', bob],
      ['carol', carol],
    ] as const) {
      const r = await labd.ssh(admin, ['user', 'add', name, '--role', 'member', '--key', `'${lab.publicKey(key)}'`]);
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(async () => {
    for (const c of clients) if (c.child.exitCode === null) c.kill();
    await labd.stop();
    lab.cleanup();
  });

  test('--help on every command; bad topic names and flags exit 2', async () => {
    for (const cmd of ['sub', 'pub', 'pipe', 'topics']) {
      const r = await labd.ssh(alice, [cmd, '--help']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^usage: ${cmd}`));
    }
    assert.match((await labd.ssh(alice, ['pub', '--help'])).stdout, /--block, -b/);
    assert.match((await labd.ssh(alice, ['sub', '--help'])).stdout, /--keep, -k/);
    assert.equal((await labd.ssh(alice, ['sub'])).status, 2);
    const bad = await labd.ssh(alice, ['sub', "'bad name!'"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^error: topic 'bad name!'/);
    assert.equal((await labd.ssh(alice, ['pub', '-t', 'soon', 'x'])).status, 2);
    assert.equal((await labd.ssh(alice, ['sub', '-a', 'Not-A-User!', 'x'])).status, 2);
  });

  test('every subscriber gets every message; a plain sub ends when the publisher leaves', async () => {
    const s1 = client(alice, ['sub', 'news']);
    // --json changes nothing for a stream: no trailing JSON document after the data.
    const s2 = client(alice, ['sub', '--json', 'alice/news']);
    await topicWhere(alice, 'alice/news', (t) => t.subscribers === 2);
    const p = client(alice, ['pub', 'news'], { stdin: true });
    p.end('hello\nworld\n');
    assert.equal(await p.exited, 0, p.stderr);
    assert.equal(await s1.exited, 0, s1.stderr);
    assert.equal(await s2.exited, 0, s2.stderr);
    assert.equal(s1.text, 'hello\nworld\n');
    assert.equal(s2.text, 'hello\nworld\n');
    await waitFor('the topic to disappear', async () => !(await topicsOf(alice)).some((t) => t.topic === 'alice/news'));
  });

  test('pub waits for a subscriber; -b=false drops what nobody takes', async () => {
    const p = client(alice, ['pub', 'wait'], { stdin: true });
    p.end('kept\n');
    await topicWhere(alice, 'alice/wait', (t) => t.waiting === 1);
    assert.match(
      p.stderr + (await waitFor('the waiting notice', () => (p.stderr.includes('waiting') ? p.stderr : false))),
      /waiting for a subscriber on alice\/wait/,
    );
    assert.equal(p.child.exitCode, null, 'a blocking pub is still waiting');
    const s = client(alice, ['sub', 'wait']);
    assert.equal(await p.exited, 0, p.stderr);
    assert.equal(await s.exited, 0, s.stderr);
    assert.equal(s.text, 'kept\n');

    const lost = client(alice, ['pub', '-b=false', '-c', 'drop'], { stdin: true });
    lost.end('nobody hears this\n');
    assert.equal(await lost.exited, 0, lost.stderr);
    assert.equal(lost.stderr, '');
    const s2 = client(alice, ['sub', 'drop']);
    await topicWhere(alice, 'alice/drop', (t) => t.subscribers === 1);
    const p2 = client(alice, ['pub', '-b=false', 'drop'], { stdin: true });
    p2.end('second\n');
    assert.equal(await p2.exited, 0, p2.stderr);
    assert.equal(await s2.exited, 0, s2.stderr);
    assert.equal(s2.text, 'second\n');
  });

  test('pub -t gives up when nobody subscribes; pub -e wakes a subscriber without data', async () => {
    const p = client(alice, ['pub', '-t', '1s', '-e', 'lonely']);
    assert.equal(await p.exited, 1);
    assert.match(p.stderr, /error: no subscriber joined alice\/lonely within 1s/);

    const s = client(alice, ['sub', 'ping']);
    await topicWhere(alice, 'alice/ping', (t) => t.subscribers === 1);
    const e = client(alice, ['pub', '-e', 'ping']);
    assert.equal(await e.exited, 0, e.stderr);
    assert.equal(await s.exited, 0, s.stderr);
    assert.equal(s.text, '');
  });

  test('sub -k keeps reading after the publisher leaves', async () => {
    const s = client(alice, ['sub', '-k', 'keep']);
    await topicWhere(alice, 'alice/keep', (t) => t.subscribers === 1);
    const p1 = client(alice, ['pub', 'keep'], { stdin: true });
    p1.end('one\n');
    assert.equal(await p1.exited, 0, p1.stderr);
    await topicWhere(alice, 'alice/keep', (t) => t.publishers === 0 && t.subscribers === 1);
    const p2 = client(alice, ['pub', 'keep'], { stdin: true });
    p2.end('two\n');
    assert.equal(await p2.exited, 0, p2.stderr);
    await waitFor('both messages', () => s.text === 'one\ntwo\n');
    assert.equal(s.child.exitCode, null);
    s.kill();
    await s.exited;
    await waitFor('the topic to go with its last client', async () => !(await topicsOf(alice)).some((t) => t.topic === 'alice/keep'));
  });

  test('pipe carries each client’s input to the others, both ways', async () => {
    const a = client(alice, ['pipe', '-a', 'bob', 'chat'], { stdin: true });
    await topicWhere(alice, 'alice/chat', (t) => t.pipes === 1);
    const b = client(bob, ['pipe', 'alice/chat'], { stdin: true });
    await topicWhere(alice, 'alice/chat', (t) => t.pipes === 2);
    a.write('from alice\n');
    await waitFor('bob to hear alice', () => b.text === 'from alice\n');
    b.write('from bob\n');
    await waitFor('alice to hear bob', () => a.text === 'from bob\n');
    a.end();
    assert.equal(await a.exited, 0, a.stderr);
    b.end();
    assert.equal(await b.exited, 0, b.stderr);
    assert.equal(a.text, 'from bob\n', 'a pipe client does not hear itself');
  });

  test('topics are private unless shared (-a) or public (-p)', async () => {
    const priv = client(alice, ['sub', '-k', 'secret']);
    const shared = client(alice, ['sub', '-k', '-a', 'bob', 'team']);
    const open = client(alice, ['sub', '-k', '-p', 'open']);
    await topicWhere(alice, 'alice/open', (t) => t.subscribers === 1 && t.access === 'public');
    await topicWhere(alice, 'alice/team', (t) => t.subscribers === 1 && t.access === 'shared');
    await topicWhere(alice, 'alice/secret', (t) => t.subscribers === 1 && t.access === 'private');

    for (const cmd of [
      ['sub', 'alice/secret'],
      ['pub', '-b=false', 'alice/secret'],
      ['pipe', 'alice/secret'],
      ['sub', 'alice/nonexistent'],
    ]) {
      const r = await labd.ssh(bob, cmd, { input: 'intrusion\n' });
      assert.equal(r.status, 3, `${cmd.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^error: permission denied: alice\/\w+ is alice's topic and is not shared with you\n$/);
    }
    const widen = await labd.ssh(bob, ['sub', '-p', 'alice/secret']);
    assert.equal(widen.status, 3);
    assert.match(widen.stderr, /only alice decides/);
    assert.equal((await labd.ssh(carol, ['sub', 'alice/team'])).status, 3);

    const bobSees = (await topicsOf(bob)).map((t) => t.topic);
    assert.deepEqual(bobSees, ['alice/open', 'alice/team']);
    assert.deepEqual(
      (await topicsOf(carol)).map((t) => t.topic),
      ['alice/open'],
    );

    const viaBob = client(bob, ['pub', 'alice/team'], { stdin: true });
    viaBob.end('bob was here\n');
    assert.equal(await viaBob.exited, 0, viaBob.stderr);
    const viaCarol = client(carol, ['pub', 'alice/open'], { stdin: true });
    viaCarol.end('carol was here\n');
    assert.equal(await viaCarol.exited, 0, viaCarol.stderr);
    await waitFor('bob on the shared topic', () => shared.text === 'bob was here\n');
    await waitFor('carol on the public topic', () => open.text === 'carol was here\n');
    assert.equal(priv.text, '');
    for (const c of [priv, shared, open]) c.kill();
    await Promise.all([priv.exited, shared.exited, open.exited]);
  });

  test('5 MB of binary arrives intact', async () => {
    const data = randomBytes(5 * 1024 * 1024);
    const s = client(alice, ['sub', 'blob']);
    await topicWhere(alice, 'alice/blob', (t) => t.subscribers === 1);
    const p = client(alice, ['pub', '-c', 'blob'], { stdin: true });
    p.end(data);
    assert.equal(await p.exited, 0, p.stderr);
    assert.equal(await s.exited, 0, s.stderr);
    assert.equal(s.stdout.length, data.length);
    assert.equal(sha256(s.stdout), sha256(data));
  });

  test('a stalled subscriber is dropped and never holds up a healthy one', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    const stalled = client(alice, ['sub', 'firehose'], { readStdout: false });
    const healthy = client(alice, ['sub', 'firehose']);
    await topicWhere(alice, 'alice/firehose', (t) => t.subscribers === 2);
    const p = client(alice, ['pub', '-c', 'firehose'], { stdin: true });
    p.end(data);
    // If this ever stalls, say where: the topic's counts and what each client printed.
    const within = async <T>(what: string, promise: Promise<T>): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(async () => {
          const topics = await topicsOf(alice).catch((e: Error) => e.message);
          reject(
            new Error(
              `${what} did not happen in 60 s; topics: ${JSON.stringify(topics)}; pub: ${p.stderr}; healthy (${healthy.stdout.length} bytes): ${healthy.stderr}; stalled: ${stalled.stderr}`,
            ),
          );
        }, 60_000);
      });
      try {
        return await Promise.race([promise, late]);
      } finally {
        clearTimeout(timer);
      }
    };
    assert.equal(await within('the publisher ending', p.exited), 0, p.stderr);
    assert.equal(await within('the healthy subscriber ending', healthy.exited), 0, healthy.stderr);
    assert.equal(sha256(healthy.stdout), sha256(data));
    // Now let the stalled client read what reached it: less than everything, then the notice.
    stalled.readStdout();
    assert.equal(await within('the stalled subscriber ending', stalled.exited), 1);
    assert.match(stalled.stderr, /error: dropped from alice\/firehose: fell more than 262144 bytes behind/);
    assert.ok(stalled.stdout.length < data.length);
    assert.ok(data.subarray(0, stalled.stdout.length).equals(stalled.stdout), 'what the stalled client got is a prefix of the stream');
  });

  test('a subscriber leaves its topic when its session ends', async () => {
    const s = client(alice, ['sub', 'gone']);
    await topicWhere(alice, 'alice/gone', (t) => t.subscribers === 1);
    s.kill();
    await s.exited;
    await waitFor('the topic to disappear', async () => !(await topicsOf(alice)).some((t) => t.topic === 'alice/gone'));
  });

  test('topics prints a table', async () => {
    const s = client(alice, ['sub', '-k', 'table']);
    await topicWhere(alice, 'alice/table', (t) => t.subscribers === 1);
    const r = new SshClient(labd, alice, ['topics']);
    assert.equal(await r.exited, 0);
    assert.match(r.text, /^TOPIC\s+ACCESS\s+SUBS\s+PUBS\s+PIPES\s+WAITING\n/);
    assert.match(r.text, /alice\/table\s+private\s+1\s+0\s+0\s+0/);
    s.kill();
    await s.exited;
  });
});
