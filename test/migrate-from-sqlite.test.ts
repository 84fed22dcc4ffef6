/**
 * `labd migrate --from-sqlite DATA_DIR --to postgres://…` (src/db/migrate-from-sqlite.ts) end to end: a
 * lab whose every table is filled through labd's real commands and peers in one run (OpenSSH client and
 * certificate, git push, the Alertmanager webhook, Debian's Alertmanager, an Apprise stand-in, the fake
 * Matrix homeserver, the Kubernetes API fake), stopped, then copied by the real CLI into a real PostgreSQL server (test/support/postgres-server.ts): every
 * table's count equals SQLite's, identity sequences continue after the copied ids, a second run is
 * refused (the target is not empty), and a failure half-way leaves the target empty.
 * labd started on the copy shows the same users, pastes, repositories, contacts and audit log.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDb, openDb } from '../src/db/client.ts';
import { copyPlan } from '../src/db/migrate-from-sqlite.ts';
import * as pgSchema from '../src/db/pg-schema.ts';
import * as sqliteSchema from '../src/db/schema.ts';
import { Database } from '../src/db/sqlite-driver.ts';
import { AlertmanagerProcess } from './support/alertmanager.ts';
import { certFor } from './support/auth-lab.ts';
import { replyTo } from './support/fake-matrix/harness.ts';
import { FakeMatrix } from './support/fake-matrix/server.ts';
import { FakeKube } from './support/fake-kube/server.ts';
import { GitLab } from './support/git.ts';
import { exampleObjects } from './support/kube-lab.ts';
import { freePort, jsonOf, KeyLab, labdCommand, ROOT, runAsync } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { POSTGRES_SKIP, startPostgresServer, type PostgresServer } from './support/postgres-server.ts';
import { RecordingServer } from './support/recorder.ts';
import { until } from './support/wait.ts';

if (POSTGRES_SKIP) console.warn(`test/migrate-from-sqlite.test.ts skipped: ${POSTGRES_SKIP}`);

const TABLES = copyPlan().map((p) => p.name);
const WEBHOOK_TOKEN = 'migrate-test-webhook-token-0123456789';

/** The tables the lab below fills: every table labd migrate copies (the first test checks both). */
const FILLED = [
  'users',
  'ssh_keys',
  'identities',
  'audit',
  'pastes',
  'invites',
  'invite_uses',
  'invite_wrong_codes',
  'custom_roles',
  'role_grants',
  'user_grants',
  'app_tokens',
  'git_repos',
  'git_collaborators',
  'crm_contacts',
  'crm_handles',
  'crm_tags',
  'crm_links',
  'crm_interactions',
  'crm_tombstones',
  'crm_books',
  'alert_groups',
  'alerts',
  'alert_transitions',
  'alert_silences',
  'alert_ack_history',
  'alert_escalations',
  'matrix_events',
  'matrix_outbox',
  'matrix_confirmations',
  'matrix_links',
  'matrix_link_codes',
  'matrix_state',
  'matrix_alert_messages',
  'ops_events',
  'node_inventory',
  'seats',
];

const labdCli = (args: string[]) => runAsync(process.execPath, labdCommand(args), { cwd: ROOT });

function sqliteCounts(dataDir: string): Record<string, number> {
  const db = new Database(join(dataDir, 'labd.db'), { readonly: true });
  try {
    return Object.fromEntries(TABLES.map((t) => [t, (db.prepare(`select count(*) as n from "${t}"`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

async function pgCounts(url: string): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: Record<string, number> = {};
    for (const t of TABLES) out[t] = (await c.query<{ n: number }>(`select count(*)::int as n from "${t}"`)).rows[0]!.n;
    return out;
  } finally {
    await c.end();
  }
}

/** The tables whose rows, read through each engine's drizzle schema (Dates, booleans, JSON), differ. */
async function differingTables(dataDir: string, url: string): Promise<string[]> {
  const file = new Database(join(dataDir, 'labd.db'), { readonly: true });
  const sqlite = drizzleSqlite(file, { schema: sqliteSchema });
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const pgDb = drizzlePg(pool, { schema: pgSchema });
  // jsonb keeps an object's keys in its own order: compare objects with their keys sorted.
  const sortKeys = (_k: string, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v;
  const canonical = (rows: Record<string, unknown>[], keys: string[]) =>
    rows
      .map((r) =>
        JSON.stringify(
          keys.map((k) => r[k]),
          sortKeys,
        ),
      )
      .sort();
  try {
    const differ: string[] = [];
    for (const p of copyPlan()) {
      const a = (await sqlite.select().from(p.sqlite)) as Record<string, unknown>[];
      const b = (await pgDb.select().from(p.pg)) as Record<string, unknown>[];
      const ka = canonical(
        a,
        p.columns.map(([, from]) => from),
      );
      const kb = canonical(
        b,
        p.columns.map(([to]) => to),
      );
      if (JSON.stringify(ka) !== JSON.stringify(kb)) differ.push(`${p.name}: ${ka.find((x) => !kb.includes(x))} vs ${kb.find((x) => !ka.includes(x))}`);
    }
    return differ;
  } finally {
    file.close();
    await pool.end();
  }
}

describe.skipIf(POSTGRES_SKIP)('labd migrate --from-sqlite into a real PostgreSQL', () => {
  const lab = new KeyLab();
  let server: PostgresServer;
  const dataDir = mkdtempSync(join(tmpdir(), 'labd-migrate-src-'));
  let admin: string;
  let alice: string;
  let bob: string;
  let before: Record<string, number>;
  const scratch: string[] = [];

  beforeAll(async () => {
    server = await startPostgresServer();
    admin = lab.key('admin');
    alice = lab.key('alice');
    bob = lab.key('bob');
    const nina = lab.key('nina');
    const guesser = lab.key('guesser');
    // An OpenSSH user CA: alice's certificate login links her principal (identities).
    const ca = lab.key('user-ca');
    const aliceCert = certFor(lab, ca, { principals: ['alice'], id: 'alice@example.org' });
    // The peers, all at once for ONE labd run: the fake Matrix homeserver (an ops room and an alerts
    // room), the Kubernetes API fake (deployments roll out, Kilo peers for seats), Debian's
    // Alertmanager (silences for acks) and an Apprise stand-in (escalations).
    const stops: (() => Promise<void>)[] = [];
    const fake = await FakeMatrix.start();
    stops.push(() => fake.stop());
    const bot = fake.addUser('labd');
    const mxAdmin = fake.addUser('alice');
    const mallory = fake.addUser('mallory');
    const opsRoom = fake.createRoom(mxAdmin.userId, { alias: 'ops', members: [mallory.userId] });
    const alertsRoom = fake.createRoom(mxAdmin.userId, { alias: 'alerts' });
    const kube = await FakeKube.start({ objects: exampleObjects(), controllers: { tickMs: 100 } });
    stops.push(() => kube.stop());
    const apprise = await RecordingServer.start();
    stops.push(() => apprise.stop());
    const amPort = await freePort();
    const config = join(lab.dir, 'labd.yaml');
    writeFileSync(
      config,
      [
        'nodes:',
        '  server: https://10.0.0.1:6443',
        '  defaultProfile: k3s',
        '  profiles:',
        '    k3s:',
        '      kernel: http://boot.lab/vmlinuz',
        '      initrd: [http://boot.lab/initrd.img]',
        '      cmdline: "hostname={hostname} k3s.url={server} k3s.token={token} mac={mac}"',
        '',
      ].join('\n'),
    );
    let started: InProcessLabd | undefined;
    try {
      started = await InProcessLabd.start({
        dataDir,
        adminKeys: [lab.publicKey(admin)],
        caKeys: [`${ca}.pub`],
        env: {
          LABD_CONFIG: config,
          LABD_SIGNUP: 'invite',
          LABD_ALERTMANAGER_URL: `http://127.0.0.1:${amPort}`,
          LABD_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
          LABD_ALERTMANAGER_ESCALATE_AFTER: '2s',
          LABD_APPRISE_URL: `${apprise.url}/notify/labd`,
          LABD_MATRIX_HOMESERVER: fake.url,
          LABD_MATRIX_TOKEN: bot.accessToken,
          LABD_MATRIX_ROOMS: opsRoom.alias!,
          LABD_MATRIX_USERS: `${mxAdmin.userId}=admin`,
          LABD_MATRIX_ALERTS_ROOM: alertsRoom.alias!,
          LABD_KUBECONFIG: kube.writeKubeconfig(join(lab.dir, 'kubeconfig')),
          LABD_KUBE_TIMEOUT: '5s',
          LABD_SEATS_CIDR: '10.5.0.0/24',
          LABD_SEATS_ENDPOINT: 'lab.example.net:51820',
          LABD_SEATS_SERVER_PUBLIC_KEY: randomBytes(32).toString('base64'),
        },
      });
      const am = await AlertmanagerProcess.start({ webhookUrl: `http://127.0.0.1:${started.httpPort}/hooks/alertmanager`, token: WEBHOOK_TOKEN, port: amPort });
      stops.unshift(async () => {
        await am.stop();
        am.cleanup();
      });
    } catch (err) {
      await started?.stop();
      for (const stop of stops) await stop();
      throw err;
    }
    const labd = started;
    try {
      const ok = async (key: string, command: string[], input?: string) => {
        const r = await labd.ssh(key, command, { input });
        assert.equal(r.status, 0, `${command.join(' ')}: ${r.stderr}`);
        return r;
      };
      await ok(admin, ['user', 'add', 'alice', '--role', 'operator', '--key', `'${lab.publicKey(alice)}'`]);
      await ok(admin, ['user', 'add', 'bob', '--role', 'member', '--key', `'${lab.publicKey(bob)}'`]);
      // Roles and grants.
      await ok(admin, ['role', 'create', 'readers']);
      await ok(admin, ['role', 'grant', 'readers', 'paste']);
      await ok(admin, ['user', 'grant', 'bob', 'crm']);
      // Invites: one used by a join, one wrong code tried.
      const invite = jsonOf<{ code: string }>(await ok(admin, ['invite', 'create', '--json']));
      assert.notEqual((await labd.ssh(guesser, ['join', 'inv-wrongwrong', '--name', 'guesser'])).status, 0);
      await ok(nina, ['join', invite.code, '--name', 'nina']);
      // A token, pastes.
      await ok(alice, ['token', 'create', '--scope', 'carddav', '--name', 'laptop']);
      await ok(alice, ['paste', 'todo.txt'], 'milk\neggs\n');
      await ok(bob, ['paste', 'secret.txt', '--hidden'], 'hidden text\n');
      // A repository with a push and a collaborator.
      const git = new GitLab(labd);
      scratch.push(git.dir);
      await ok(alice, ['repo', 'create', 'dotfiles']);
      const wt = git.workTree({ 'README.md': '# dotfiles\n' }, 2);
      const push = await git.gitAsync(alice, ['push', git.url('dotfiles.git'), 'main'], { cwd: wt });
      assert.equal(push.status, 0, push.stderr);
      await ok(alice, ['repo', 'collab', 'add', 'dotfiles', 'bob', 'read-write']);
      // Contacts: added, imported, tagged, linked, noted, one removed.
      const crm = async (key: string, args: string[], input?: string) => jsonOf<{ id: number }>(await ok(key, ['crm', ...args, '--json'], input));
      const ada = await crm(alice, ['add', 'Ada', 'Lovelace', '--email', 'ada@example.org', '--phone', "'030 1234567'"]);
      const charles = await crm(alice, ['add', 'Charles', 'Babbage']);
      const gone = await crm(alice, ['add', 'Temporary', 'Person']);
      await crm(alice, ['tag', String(ada.id), '+maths']);
      await crm(alice, ['link', String(ada.id), String(charles.id), '--as', 'colleague']);
      await crm(alice, ['note', String(ada.id), 'met', 'at', 'the', 'salon']);
      await crm(alice, ['rm', String(gone.id), '--yes']);
      await crm(
        bob,
        ['import'],
        'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:grace-1\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\nEMAIL:grace@example.org\r\nEND:VCARD\r\n' +
          'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:alan-1\r\nFN:Alan Turing\r\nN:Turing;Alan;;;\r\nEND:VCARD\r\n',
      );
      // Alerts through the webhook: each group is posted to the Matrix alerts room.
      const deliver = async (alertname: string, fingerprint: string) => {
        const res = await fetch(`http://127.0.0.1:${labd.httpPort}/hooks/alertmanager`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` },
          body: JSON.stringify({
            version: '4',
            groupKey: `{}:{alertname="${alertname}"}`,
            status: 'firing',
            receiver: 'labd',
            groupLabels: { alertname },
            commonLabels: { alertname, severity: 'critical' },
            commonAnnotations: { summary: `${alertname} on nuc1` },
            externalURL: 'http://am.example',
            alerts: [
              {
                status: 'firing',
                labels: { alertname, instance: 'nuc1' },
                annotations: { summary: `${alertname} on nuc1` },
                startsAt: new Date().toISOString(),
                fingerprint,
              },
            ],
          }),
        });
        const text = await res.text();
        assert.equal(res.status, 200, text);
        return (JSON.parse(text) as { group: number }).group;
      };
      const diskFull = await deliver('DiskFull', 'f1');
      await deliver('FanStuck', 'f2');
      // An ack silences the group in Alertmanager (alert_silences, alert_ack_history); FanStuck stays
      // unacknowledged and escalates through Apprise (alert_escalations).
      await ok(admin, ['ack', String(diskFull), '--for', '1h', 'looking', 'at', 'the', 'disk']);
      // A certificate login claims the user named by its principal (identities).
      const who = jsonOf<{ user: string; credential: { kind: string } }>(await labd.ssh(aliceCert.key, ['whoami', '--json'], { cert: aliceCert.cert }));
      assert.equal(who.user, 'alice');
      // Kubernetes: a deploy followed to its end (ops_events), a node provisioned (node_inventory), a seat (seats).
      await ok(admin, ['deploy', 'default/web', '--image', 'nginx:1.28', '--wait']);
      await ok(admin, ['node', 'provision', 'pxe1', '--mac', 'aa:bb:cc:00:11:22', '--role', 'worker']);
      await ok(admin, ['seat', 'add', 'dana-phone']);
      // Matrix: the bot syncs (matrix_state), answers commands (matrix_events, matrix_outbox), hands out a
      // link code that nina redeems over SSH (matrix_link_codes, matrix_links), asks before a destructive
      // command (matrix_confirmations, left unconfirmed), and posts the alert groups (matrix_alert_messages).
      await until('the bot in both rooms', () => [opsRoom, alertsRoom].every((r) => fake.store.membership(r, bot.userId) === 'join'));
      const linkAnswer = await replyTo({ fake, bot, labd }, fake.say(opsRoom.roomId, mallory.userId, '!lab link'));
      const code = /link ([a-z2-9]{5}-[a-z2-9]{5})\b/.exec(String(linkAnswer.content.body))?.[1];
      assert.ok(code, String(linkAnswer.content.body));
      await ok(nina, ['link', code]);
      const me = await replyTo({ fake, bot, labd }, fake.say(opsRoom.roomId, mallory.userId, '!lab whoami'));
      assert.match(String(me.content.body), /nina/);
      const ask = await replyTo({ fake, bot, labd }, fake.say(opsRoom.roomId, mxAdmin.userId, '!lab user rm nina'));
      assert.match(String(ask.content.body), /is destructive/);
      await until('both alert groups posted in the alerts room', () => {
        const posted = fake.timeline(alertsRoom.roomId).filter((e) => e.sender === bot.userId && e.type === 'm.room.message');
        return ['DiskFull', 'FanStuck'].every((n) => posted.some((e) => String(e.content.body).includes(`alertname=${n}`)));
      });
      await until('the Apprise escalation of FanStuck', () => apprise.requests.some((r) => r.status === 200 && r.body.includes('FanStuck')));
    } finally {
      await labd.stop();
      for (const stop of stops) await stop();
    }
    before = sqliteCounts(dataDir);
  });

  afterAll(async () => {
    await server?.stop();
    lab.cleanup();
    for (const d of [dataDir, ...scratch]) rmSync(d, { recursive: true, force: true });
  });

  it('the lab filled every table labd migrate copies', () => {
    expect([...FILLED].sort()).toEqual([...TABLES].sort());
    const empty = FILLED.filter((t) => !(before[t]! > 0));
    expect(empty, `tables left empty: ${empty.join(', ')}`).toEqual([]);
    console.log(
      `SQLite rows: ${Object.entries(before)
        .map(([t, n]) => `${t}=${n}`)
        .join(' ')}`,
    );
  });

  it('copies every table into an empty database: the counts match, the sequences continue after the copied ids', async () => {
    await server.createDatabase('copy');
    const url = server.url('copy');
    const r = await labdCli(['migrate', '--from-sqlite', dataDir, '--to', url, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { source: string; target: string; tables: Record<string, number>; total: number };
    expect(out.tables).toEqual(before);
    expect(out.total).toBe(Object.values(before).reduce((a, b) => a + b, 0));
    expect(out.target).toBe(url.replace(server.password, '***'));
    expect(r.stdout).not.toContain(server.password);
    expect(await pgCounts(url)).toEqual(before);
    expect(await differingTables(dataDir, url)).toEqual([]);

    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const names = (await c.query<{ name: string }>('select name from users order by id')).rows.map((u) => u.name);
      expect(names).toEqual(['admin', 'alice', 'bob', 'nina']);
      const [group] = (await c.query<{ group_labels: Record<string, string> }>('select group_labels from alert_groups')).rows;
      expect(group!.group_labels).toEqual({ alertname: 'DiskFull' });
      // PostgreSQL's search columns (if any) are computed from the copied rows: the contact is found.
      const { rows: ada } = await c.query<{ display_name: string }>("select display_name from crm_contacts where lower(display_name) like '%lovelace%'");
      expect(ada.map((x) => x.display_name)).toEqual(['Ada Lovelace']);
      // The identity sequences go on after the largest copied id.
      const maxId = (await c.query<{ m: number }>('select max(id)::int as m from users')).rows[0]!.m;
      const { rows: added } = await c.query<{ id: number }>("insert into users (name, role) values ('after-copy', 'member') returning id");
      expect(added[0]!.id).toBe(maxId + 1);
      const maxAudit = (await c.query<{ m: number }>('select max(id)::int as m from audit')).rows[0]!.m;
      const { rows: audit } = await c.query<{ id: number }>(
        "insert into audit (at, actor, via, command, args, outcome, duration_ms) values (now(), 'x', 'test', 'x', '{}', 'ok', 0) returning id",
      );
      expect(audit[0]!.id).toBe(maxAudit + 1);
      await c.query("delete from users where name = 'after-copy'");
      await c.query('delete from audit where id = $1', [audit[0]!.id]);
    } finally {
      await c.end();
    }
  });

  it('a second run into the same database is refused (exit 3) and changes nothing', async () => {
    const url = server.url('copy');
    const r = await labdCli(['migrate', '--from-sqlite', dataDir, '--to', url]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/is not empty \(rows in .*users/);
    expect(r.stderr + r.stdout).not.toContain(server.password);
    expect(await pgCounts(url)).toEqual(before);
  });

  it('a failure half-way (a row PostgreSQL refuses) leaves the target empty (exit 1)', async () => {
    // A NUL character: SQLite stores it in text, PostgreSQL refuses it. pastes is copied after users.
    const broken = mkdtempSync(join(tmpdir(), 'labd-migrate-broken-'));
    scratch.push(broken);
    cpSync(dataDir, broken, { recursive: true });
    const db = new Database(join(broken, 'labd.db'));
    expect(db.prepare("update pastes set name = name || char(0) || 'x' where name = 'todo.txt'").run().changes).toBe(1);
    db.close();
    const order = TABLES;
    expect(order.indexOf('users')).toBeLessThan(order.indexOf('pastes'));

    await server.createDatabase('broken');
    const url = server.url('broken');
    const r = await labdCli(['migrate', '--from-sqlite', broken, '--to', url]);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(r.stderr).toMatch(/copying pastes: .*0x00.*\(nothing was copied\)/);
    expect(r.stderr + r.stdout).not.toContain(server.password);
    // Tables before pastes were copied (and printed) before the failure…
    expect(r.stdout).toMatch(/^ {2}users +4$/m);
    // …and rolled back with it.
    const after = await pgCounts(url);
    expect(Object.entries(after).filter(([, n]) => n > 0)).toEqual([]);
  });

  it('copies tables larger than one batch, in order, with gaps in the ids', async () => {
    const big = mkdtempSync(join(tmpdir(), 'labd-migrate-big-'));
    scratch.push(big);
    const db = openDb(big);
    migrateDb(db);
    const insert = db.$client.prepare(
      "insert into audit (id, at, actor, via, command, args, outcome, duration_ms) values (?, ?, 'admin', 'ssh', 'whoami', '{}', 'ok', ?)",
    );
    const n = 2_345;
    db.$client.transaction(() => {
      for (let i = 1; i <= n; i++) insert.run(i * 3, 1_700_000_000_000 + i, i);
    })();
    db.$client.close();
    await server.createDatabase('big');
    const url = server.url('big');
    const r = await labdCli(['migrate', '--from-sqlite', big, '--to', url, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { tables: Record<string, number> }).tables.audit).toBe(n);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const { rows } = await c.query<{ n: number; min: number; max: number; sum: string; at: Date }>(
        'select count(*)::int as n, min(id) as min, max(id) as max, sum(duration_ms) as sum, max(at) as at from audit',
      );
      expect(rows[0]).toMatchObject({ n, min: 3, max: 3 * n, sum: String((n * (n + 1)) / 2) });
      expect(rows[0]!.at.getTime()).toBe(1_700_000_000_000 + n);
      const next = await c.query<{ id: number }>(
        "insert into audit (at, actor, via, command, args, outcome, duration_ms) values (now(), 'x', 'test', 'x', '{}', 'ok', 0) returning id",
      );
      expect(next.rows[0]!.id).toBe(3 * n + 1);
    } finally {
      await c.end();
    }
  });

  it('refuses a target that is not PostgreSQL, a missing data dir, and a wrong password without printing it', async () => {
    await server.createDatabase('wrongpw');
    // Four separate CLI runs that share nothing: side by side, each pays its own start at once.
    const [notPg, missing, wrong, help] = await Promise.all([
      labdCli(['migrate', '--from-sqlite', dataDir, '--to', 'mysql://u:pw-in-url@h/db']),
      labdCli(['migrate', '--from-sqlite', join(dataDir, 'nope'), '--to', server.url('copy')]),
      labdCli(['migrate', '--from-sqlite', dataDir, '--to', server.url('wrongpw', { password: 'S3cret-wrong-pw' })]),
      labdCli(['migrate', '--help']),
    ]);
    expect(notPg.status).toBe(2);
    expect(notPg.stderr).not.toContain('pw-in-url');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no labd database at/);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/password authentication failed/);
    expect(wrong.stderr + wrong.stdout).not.toContain('S3cret-wrong-pw');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--from-sqlite DATA_DIR/);
  });

  it('labd started on the copy shows the same users, pastes, repositories, contacts and audit', async () => {
    // The same data dir (repositories, paste blobs, host key); its labd.db is not read with a database URL.
    const labd = await InProcessLabd.start({ dataDir, adminKeys: [lab.publicKey(admin)], env: { LABD_DATABASE_URL: server.url('copy') } });
    try {
      const users = jsonOf<{ name: string }[]>(await labd.ssh(admin, ['user', 'ls', '--json']));
      expect(users.map((u) => u.name).sort()).toEqual(['admin', 'alice', 'bob', 'nina']);
      // Each owner sees their own pastes, hidden ones included, and reads them back byte for byte.
      const pastesOf = async (who: string) => jsonOf<{ name: string }[]>(await labd.ssh(who, ['paste', 'ls', '--all', '--json'])).map((p) => p.name);
      expect([...(await pastesOf(alice)), ...(await pastesOf(bob))].length).toBe(before.pastes);
      expect(await pastesOf(alice)).toEqual(['todo.txt']);
      expect((await labd.ssh(alice, ['paste', 'cat', 'todo.txt'])).stdout).toBe('milk\neggs\n');
      const repos = jsonOf<{ name: string }[]>(await labd.ssh(admin, ['repo', 'ls', '--json']));
      expect(repos.map((r) => r.name)).toContain('dotfiles');
      // Contacts, and their search (PostgreSQL's search columns are written again after the copy).
      const found = jsonOf<{ name: string }[]>(await labd.ssh(alice, ['crm', 'ls', 'lovelace', '--json']));
      expect(found.map((c) => c.name)).toEqual(['Ada Lovelace']);
      const byPrefix = jsonOf<{ name: string }[]>(await labd.ssh(bob, ['crm', 'ls', 'grac', '--json']));
      expect(byPrefix.map((c) => c.name)).toEqual(['Grace Hopper']);
      const audit = await labd.auditRows(admin);
      expect(audit.length).toBeGreaterThanOrEqual(before.audit!);
    } finally {
      await labd.stop();
    }
  });
});
