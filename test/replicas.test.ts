/**
 * Two labd replicas behave as one (issue #21, the acceptance test): two labd PROCESSES on one
 * PostgreSQL (Debian's postgresql-15), one nats-server and one data dir (the shared volume), leader
 * election on the PostgreSQL advisory lock, driven with the real OpenSSH and git clients and the
 * project's fake Matrix homeserver. Access changes reaching the other replica's open connections
 * (user rm, role changes) are the fan-out work's test, not this one's.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { MatrixEvent, Room } from './support/fake-matrix/rooms.ts';
import { FakeMatrix, type FakeUser } from './support/fake-matrix/server.ts';
import { GitLab } from './support/git.ts';
import { freePort, jsonOf, KeyLab, LabdProcess, run, type AuditRow } from './support/labd.ts';
import { NatsServer, natsServerAvailable } from './support/nats-server.ts';
import { POSTGRES_SKIP, startPostgresServer, type PostgresServer } from './support/postgres-server.ts';
import { AlertmanagerProcess } from './support/alertmanager.ts';
import { until } from './support/wait.ts';

const SKIP = POSTGRES_SKIP ?? (natsServerAvailable() ? undefined : 'no nats-server (apt-get install nats-server)');
const WEBHOOK_TOKEN = randomBytes(16).toString('hex');

/** One alert group as Alertmanager's webhook (v4) sends it. */
function delivery(alertname: string, startsAt: string) {
  return {
    version: '4',
    groupKey: `{}:{alertname="${alertname}"}`,
    status: 'firing',
    receiver: 'labd',
    groupLabels: { alertname },
    commonLabels: { alertname, job: 'node' },
    commonAnnotations: { summary: `${alertname} is firing` },
    externalURL: 'http://alertmanager.invalid',
    truncatedAlerts: 0,
    alerts: [
      {
        status: 'firing',
        labels: { alertname, job: 'node', instance: 'n1' },
        annotations: { summary: `${alertname} is firing` },
        startsAt,
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: randomBytes(8).toString('hex'),
      },
    ],
  };
}

/** The bare repositories under the data dir (repos/…/NAME.git). */
function bareRepos(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (!statSync(path).isDirectory()) continue;
    if (entry.endsWith('.git')) found.push(path);
    else found.push(...bareRepos(path));
  }
  return found;
}

describe.skipIf(SKIP)('two labd replicas on one PostgreSQL, one nats-server and one data dir', () => {
  const keys = new KeyLab();
  const dataDir = mkdtempSync(join(tmpdir(), 'labd-replicas-'));
  let pg: PostgresServer;
  let nats: NatsServer;
  let fake: FakeMatrix;
  let bot: FakeUser;
  let alerts: Room;
  let admin: string;
  let alice: string;
  let env: Record<string, string>;
  /** The running replicas (a killed one is replaced by its restart). */
  const replicas: LabdProcess[] = [];
  let one: LabdProcess;
  let two: LabdProcess;

  const start = () => LabdProcess.start({ dataDir, adminKeys: [keys.publicKey(admin)], env });
  const leaderGauge = async (labd: LabdProcess): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${labd.httpPort}/metrics`)).text();
    const m = /^labd_leader (\d)$/m.exec(text);
    if (!m) throw new Error('no labd_leader on /metrics');
    return Number(m[1]);
  };
  const ok = async (labd: LabdProcess, key: string, command: string[], input?: string) => {
    const r = await labd.sshStart(key, command, input === undefined ? {} : { input }).done;
    assert.equal(r.status, 0, `${command.join(' ')}: ${r.stderr}`);
    return r;
  };
  const hostKey = (labd: LabdProcess) => {
    const r = run('ssh-keyscan', ['-t', 'ed25519', '-p', String(labd.sshPort), '127.0.0.1']);
    const line = r.stdout.split('\n').find((l) => l.includes('ssh-ed25519'));
    if (!line) throw new Error(`ssh-keyscan: ${r.stderr}`);
    return line.split(' ').slice(1).join(' ');
  };
  const postAlert = (labd: LabdProcess, body: unknown) =>
    fetch(`http://127.0.0.1:${labd.httpPort}/hooks/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  /** The bot's posts (not edits) in the alerts room for one alertname. */
  const posts = (alertname: string): MatrixEvent[] =>
    fake
      .timeline(alerts.roomId)
      .filter(
        (e) =>
          e.sender === bot.userId && e.type === 'm.room.message' && !e.content['m.relates_to'] && String(e.content.body).includes(`alertname=${alertname}`),
      );
  const logs = () => replicas.map((r, i) => `--- replica ${i}:\n${r.logs().slice(-3000)}`).join('\n');

  beforeAll(async () => {
    admin = keys.key('admin');
    alice = keys.key('alice');
    [pg, nats, fake] = await Promise.all([startPostgresServer(), NatsServer.start(), FakeMatrix.start()]);
    await pg.createDatabase('labd');
    bot = fake.addUser('labd');
    const oncall = fake.addUser('alice');
    const ops = fake.createRoom(oncall.userId, { alias: 'ops' });
    alerts = fake.createRoom(oncall.userId, { alias: 'alerts' });
    env = {
      LABD_LOG_LEVEL: 'info',
      LABD_DATABASE_URL: pg.url('labd'),
      LABD_NATS_URL: nats.url,
      LABD_LEADER_ELECTION: 'postgres',
      LABD_MATRIX_HOMESERVER: fake.url,
      LABD_MATRIX_TOKEN: bot.accessToken,
      LABD_MATRIX_ROOMS: ops.alias!,
      LABD_MATRIX_ALERTS_ROOM: alerts.alias!,
      // Nothing answers there: the webhook is what this test drives (the poller only logs).
      LABD_ALERTMANAGER_URL: `http://127.0.0.1:${await freePort()}`,
      LABD_ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
    };
    // Both at once, on an empty database and an empty data dir.
    const started = await Promise.allSettled([start(), start()]);
    for (const s of started) if (s.status === 'fulfilled') replicas.push(s.value);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    [one, two] = replicas as [LabdProcess, LabdProcess];
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await Promise.all([nats?.stop(), pg?.stop(), fake?.stop()]);
    rmSync(dataDir, { recursive: true, force: true });
    keys.cleanup();
  });

  test('started at once on an empty database: one host key presented by both; the data dir holds no SQLite file', () => {
    assert.equal(hostKey(one), hostKey(two));
    const files = readdirSync(dataDir).sort();
    assert.ok(!files.some((f) => f.startsWith('labd.db')), `no SQLite file in the shared dir: ${files.join(' ')}`);
    assert.deepEqual(
      files.filter((f) => f.startsWith('ssh_host')),
      ['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub'],
    );
    assert.ok(!files.some((f) => f.endsWith('.tmp')), `no temp key left: ${files.join(' ')}`);
  });

  test('exactly one replica reports labd_leader 1', async () => {
    await until('one leader', async () => (await leaderGauge(one)) + (await leaderGauge(two)) === 1);
    assert.equal((await leaderGauge(one)) + (await leaderGauge(two)), 1);
  });

  test('a user added on one logs in on the other; a paste, a repository, a contact and the audit rows made on one are seen on the other', async () => {
    await ok(one, admin, ['user', 'add', 'alice', '--role', 'operator', '--key', `'${keys.publicKey(alice)}'`]);
    assert.match((await ok(two, alice, ['whoami'])).stdout, /alice/);

    await ok(one, alice, ['paste', 'notes.md'], '# shared\nacross replicas\n');
    assert.equal((await ok(two, alice, ['paste', 'cat', 'notes.md'])).stdout, '# shared\nacross replicas\n');

    await ok(one, alice, ['repo', 'create', 'shared', '--description', 'made-on-one']);
    const repos = jsonOf<{ name: string }[]>(await two.sshAsync(alice, ['repo', 'ls', '--json']));
    assert.ok(
      repos.some((r) => r.name.endsWith('shared')),
      JSON.stringify(repos),
    );

    await ok(one, alice, ['crm', 'add', 'Ada', 'Lovelace', '--email', 'ada@example.com']);
    assert.match((await ok(two, alice, ['crm', 'ls'])).stdout, /Lovelace/);

    const audit = jsonOf<AuditRow[]>(await two.sshAsync(admin, ['audit', '--json', '--limit', '100']));
    for (const command of ['user add', 'paste', 'repo create', 'crm add'])
      assert.ok(
        audit.some((a) => a.command === command && a.outcome === 'ok'),
        `audit row of ${command} on the other replica`,
      );
  });

  test('two pushes to one repository through the two replicas at once: one wins, the other is rejected, git fsck is clean', async () => {
    await ok(one, alice, ['repo', 'create', 'race']);
    const g1 = new GitLab(one);
    const g2 = new GitLab(two);
    try {
      const base = g1.workTree({ 'README.md': 'base\n' });
      const first = await g1.gitAsync(alice, ['push', '-q', g1.url('race'), 'main'], { cwd: base });
      assert.equal(first.status, 0, first.stderr);
      const clones = [
        [g1, g1.path('c1')],
        [g2, g2.path('c2')],
      ] as const;
      for (const [g, dir] of clones) {
        const r = await g.gitAsync(alice, ['clone', '-q', g.url('race'), dir]);
        assert.equal(r.status, 0, r.stderr);
      }
      g1.commit(clones[0][1], 'a.txt', 'from one\n', 'via one');
      g2.commit(clones[1][1], 'b.txt', 'from two\n', 'via two');
      const pushes = await Promise.all(clones.map(([g, dir]) => g.gitAsync(alice, ['push', 'origin', 'main'], { cwd: dir })));
      const won = pushes.filter((p) => p.status === 0);
      assert.equal(won.length, 1, pushes.map((p) => p.stderr).join('\n---\n'));
      const lost = pushes.findIndex((p) => p.status !== 0);
      // Both clients saw the same old ref: git's ref lock on the server refuses the second (remote rejected),
      // or, when the first had committed already, its old-value check does.
      assert.match(pushes[lost]!.stderr, /rejected|failed to (update|lock) ref|cannot lock ref/);
      // The loser tries again: now a plain non-fast-forward.
      const [g, dir] = clones[lost]!;
      const again = await g.gitAsync(alice, ['push', 'origin', 'main'], { cwd: dir });
      assert.notEqual(again.status, 0);
      assert.match(again.stderr, /non-fast-forward|fetch first/);
      const bare = bareRepos(join(dataDir, 'repos')).find((p) => p.endsWith('race.git'));
      assert.ok(bare, 'the repository on the shared volume');
      const fsck = run('git', ['--git-dir', bare, 'fsck', '--full', '--strict'], { env: { PATH: process.env.PATH, HOME: g1.dir } });
      assert.equal(fsck.status, 0, fsck.stderr);
      const log = run('git', ['--git-dir', bare, 'log', '--format=%s', 'main'], { env: { PATH: process.env.PATH, HOME: g1.dir } });
      assert.deepEqual(log.stdout.trim().split('\n'), [lost === 0 ? 'via two' : 'via one', 'first']);
    } finally {
      rmSync(g1.dir, { recursive: true, force: true });
      rmSync(g2.dir, { recursive: true, force: true });
    }
  });

  test('pub on one blocks until sub on the other arrives, then the message is received', async () => {
    const pub = one.sshStart(alice, ['pub', 'hello'], { input: 'across\n' });
    await until('the waiting notice', () => pub.stderr().includes('waiting for a subscriber on alice/hello'));
    const sub = two.sshStart(alice, ['sub', 'hello']);
    const [p, s] = await Promise.all([pub.done, sub.done]);
    assert.equal(p.status, 0, p.stderr);
    assert.equal(s.status, 0, s.stderr);
    assert.equal(s.stdout, 'across\n');
  });

  test('Alertmanager HA notifies both replicas at once: one room message per alert group', async () => {
    await until('the bot to join the alerts room', () => fake.store.membership(alerts, bot.userId) === 'join');
    const startsAt = new Date(Date.now() - 1000).toISOString();
    const groups = ['DiskFull', 'NodeDown'].map((name) => delivery(name, startsAt));
    // Each group to both replicas at the same moment, twice (Alertmanager re-sends at its group interval).
    for (let round = 0; round < 2; round++) {
      const answers = await Promise.all(groups.flatMap((g) => [postAlert(one, g), postAlert(two, g)]));
      for (const a of answers) assert.equal(a.status, 200, await a.text());
    }
    for (const name of ['DiskFull', 'NodeDown']) await until(`the ${name} message`, () => posts(name).length > 0, { timeoutMs: 60_000 });
    // The outbox has nothing else queued for them: no second post follows.
    await until('the outbox to drain', async () => {
      const text = await (await fetch(`http://127.0.0.1:${one.httpPort}/metrics`)).text();
      return /^labd_outbox_depth 0$/m.test(text);
    });
    for (const name of ['DiskFull', 'NodeDown']) assert.equal(posts(name).length, 1, `${name}: ${logs()}`);
  });

  test('a notification only the follower receives is posted by the leader, from the outbox in the database', async () => {
    const follower = (await leaderGauge(one)) === 1 ? two : one;
    const answer = await postAlert(follower, delivery('OnlyFollower', new Date(Date.now() - 1000).toISOString()));
    assert.equal(answer.status, 200, await answer.text());
    await until('the message queued on the follower, posted by the leader', () => posts('OnlyFollower').length > 0, { timeoutMs: 60_000 });
    assert.equal(posts('OnlyFollower').length, 1);
  });

  test("Debian's Alertmanager notifying both replicas (one receiver, a webhook to each): one room message per alert group", async () => {
    const am = await AlertmanagerProcess.start({
      port: Number(new URL(env.LABD_ALERTMANAGER_URL!).port),
      webhookUrl: `http://127.0.0.1:${one.httpPort}/hooks/alertmanager`,
      moreWebhookUrls: [`http://127.0.0.1:${two.httpPort}/hooks/alertmanager`],
      token: WEBHOOK_TOKEN,
    });
    try {
      await am.post([
        { labels: { alertname: 'RealAmDisk', cluster: 'lab', severity: 'warning' }, annotations: { summary: 'disk filling' } },
        { labels: { alertname: 'RealAmNode', cluster: 'lab', severity: 'critical' }, annotations: { summary: 'node gone' } },
      ]);
      for (const name of ['RealAmDisk', 'RealAmNode']) await until(`the ${name} message`, () => posts(name).length > 0, { timeoutMs: 60_000 });
      // Alertmanager re-notifies at its group interval (1 s) while the leader also polls it: still one message each.
      await new Promise((r) => setTimeout(r, 3000));
      await until('the outbox to drain', async () => /^labd_outbox_depth 0$/m.test(await (await fetch(`http://127.0.0.1:${one.httpPort}/metrics`)).text()));
      for (const name of ['RealAmDisk', 'RealAmNode']) assert.equal(posts(name).length, 1, `${name}: ${logs()}`);
    } finally {
      await am.stop();
      am.cleanup();
    }
  });

  test('SIGKILL of the leader: the other leads within 30 s and posts the next alert; the killed replica rejoins as follower', async () => {
    const leader = (await leaderGauge(one)) === 1 ? one : two;
    const other = leader === one ? two : one;
    leader.child.kill('SIGKILL');
    await leader.exited;
    const killedAt = Date.now();
    await until('the other replica to lead', async () => (await leaderGauge(other)) === 1, { timeoutMs: 30_000 });
    assert.ok(Date.now() - killedAt < 30_000);

    const answer = await postAlert(other, delivery('AfterFailover', new Date(Date.now() - 1000).toISOString()));
    assert.equal(answer.status, 200, await answer.text());
    await until('the alert posted by the new leader', () => posts('AfterFailover').length > 0, { timeoutMs: 60_000 });

    const restarted = await start();
    replicas.splice(replicas.indexOf(leader), 1, restarted);
    assert.equal(await leaderGauge(restarted), 0);
    assert.equal(await leaderGauge(other), 1);
    assert.equal(hostKey(restarted), hostKey(other));
    assert.match((await ok(restarted, alice, ['paste', 'cat', 'notes.md'])).stdout, /across replicas/);
    assert.equal(posts('AfterFailover').length, 1);
    assert.ok(existsSync(join(dataDir, 'ssh_host_ed25519_key')));
  });
});
