/**
 * bench/alerts: a burst of alerts through Debian's Alertmanager into labd and on to the alerts
 * room of the fake homeserver. Prints the time from the first POST until every group's message
 * shows all its alerts firing, and how many messages and edits (and HTTP sends) that took.
 *
 *   npx tsx bench/alerts.ts [--alerts 1000] [--groups 50]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { AlertmanagerProcess, type PostedAlert } from '../test/support/alertmanager.ts';
import type { MatrixEvent } from '../test/support/fake-matrix/rooms.ts';
import { FakeMatrix } from '../test/support/fake-matrix/server.ts';
import { freePort, KeyLab, LabdProcess } from '../test/support/labd.ts';

const USAGE = `usage: npx tsx bench/alerts.ts [--alerts N] [--groups N]

  --alerts N   alerts in the burst (default 1000, max 20000)
  --groups N   alert groups they fall into (by alertname; default 50, at most --alerts)`;

function count(name: string, raw: string | undefined, dflt: number, max: number): number {
  if (raw === undefined) return dflt;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    process.stderr.write(`error: --${name}: expected a whole number from 1 to ${max}, got '${raw}'\n${USAGE}\n`);
    process.exit(2);
  }
  return Number(raw);
}

let args;
try {
  args = parseArgs({ options: { alerts: { type: 'string' }, groups: { type: 'string' }, help: { type: 'boolean' } } }).values;
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}
const total = count('alerts', args.alerts, 1000, 20000);
const groupCount = count('groups', args.groups, 50, total);

const keys = new KeyLab();
const token = randomBytes(24).toString('hex');
const fake = await FakeMatrix.start();
const bot = fake.addUser('labd');
const alice = fake.addUser('alice');
const ops = fake.createRoom(alice.userId, { alias: 'ops' });
const room = fake.createRoom(alice.userId, { alias: 'alerts' });
const amPort = await freePort();
let labd: LabdProcess | undefined;
let am: AlertmanagerProcess | undefined;

type Relation = { rel_type?: string; event_id?: string };
const relation = (e: MatrixEvent) => (e.content['m.relates_to'] ?? {}) as Relation;

try {
  labd = await LabdProcess.start({
    adminKeys: [keys.publicKey(keys.key('admin'))],
    env: {
      LABD_LOG_LEVEL: 'info',
      LABD_MATRIX_HOMESERVER: fake.url,
      LABD_MATRIX_TOKEN: bot.accessToken,
      LABD_MATRIX_ROOMS: ops.alias!,
      LABD_MATRIX_USERS: `${alice.userId}=admin`,
      LABD_MATRIX_ALERTS_ROOM: room.alias!,
      LABD_MATRIX_ONCALL: alice.userId,
      LABD_ALERTMANAGER_URL: `http://127.0.0.1:${amPort}`,
      LABD_ALERTMANAGER_WEBHOOK_TOKEN: token,
    },
  });
  am = await AlertmanagerProcess.start({ webhookUrl: `http://127.0.0.1:${labd.httpPort}/hooks/alertmanager`, token, port: amPort });
  const joinDeadline = Date.now() + 60000;
  while (fake.store.membership(room, bot.userId) !== 'join') {
    if (Date.now() > joinDeadline) throw new Error('the bot did not join the alerts room');
    await new Promise((r) => setTimeout(r, 100));
  }

  const perGroup = new Map<string, number>();
  const alerts: PostedAlert[] = [];
  const startsAt = new Date(Date.now() - 1000).toISOString();
  const endsAt = new Date(Date.now() + 3600_000).toISOString();
  for (let i = 0; i < total; i++) {
    const alertname = `Bench${i % groupCount}`;
    perGroup.set(alertname, (perGroup.get(alertname) ?? 0) + 1);
    alerts.push({ labels: { alertname, cluster: 'bench', instance: `node${i}` }, annotations: { summary: `bench alert ${i}` }, startsAt, endsAt });
  }
  // The burst: ten concurrent POSTs, as several Prometheus servers evaluating at once.
  const batch = Math.ceil(total / 10);
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.ceil(total / batch) }, (_, i) => am!.post(alerts.slice(i * batch, (i + 1) * batch))));

  const botEvents = () => fake.timeline(room.roomId).filter((e) => e.sender === bot.userId && e.type === 'm.room.message');
  const complete = () => {
    const events = botEvents();
    const shown = new Map<string, string>();
    const postOf = new Map<string, string>();
    for (const e of events) {
      const r = relation(e);
      if (!e.content['m.relates_to']) postOf.set(e.event_id, String(e.content.body));
      else if (r.rel_type === 'm.replace' && r.event_id && postOf.has(r.event_id))
        postOf.set(r.event_id, String((e.content['m.new_content'] as { body?: unknown }).body));
    }
    for (const body of postOf.values()) {
      const m = /\(alertname=(Bench\d+) cluster=bench\), (\d+)\/(\d+) firing/.exec(body);
      if (m) shown.set(m[1]!, `${m[2]}/${m[3]}`);
    }
    return [...perGroup].every(([name, n]) => shown.get(name) === `${n}/${n}`);
  };
  const deadline = Date.now() + 10 * 60_000;
  while (!complete()) {
    if (Date.now() > deadline) throw new Error(`not all alerts reached the room in 10 minutes\nlabd log:\n${labd.logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - start) / 1000;
  const events = botEvents();
  const messages = events.filter((e) => !e.content['m.relates_to']).length;
  const edits = events.filter((e) => relation(e).rel_type === 'm.replace').length;
  const sends = fake.requests.filter((q) => q.method === 'PUT' && q.userId === bot.userId && q.path.includes('/send/')).length;
  process.stdout.write(
    `alerts: ${total} in ${groupCount} groups (Alertmanager group_wait 1s, group_interval 1s; fake homeserver without rate limits)\n` +
      `time until all are shown in the room: ${seconds.toFixed(2)} s\n` +
      `messages: ${messages}, edits: ${edits}, HTTP sends: ${sends}\n`,
  );
} finally {
  await am?.stop();
  am?.cleanup();
  await labd?.stop();
  await fake.stop();
  keys.cleanup();
}
