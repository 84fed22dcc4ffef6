/** Test harness: a fake homeserver with a room, and labd started with its bot pointed at it. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyLab, LabdProcess, type LabdOptions, type SshResult } from '../labd.ts';
import type { MatrixEvent, Room } from './rooms.ts';
import { FakeMatrix, type FakeUser } from './server.ts';

/** What the bot lab needs of a started labd (LabdProcess or InProcessLabd). */
export interface StartedLabd {
  sshAsync(identity: string, command: string[]): Promise<SshResult>;
  logs(): string;
  stop(): Promise<void>;
}

export interface BotLab<L extends StartedLabd = LabdProcess> {
  fake: FakeMatrix;
  labd: L;
  keys: KeyLab;
  adminKey: string;
  room: Room;
  bot: FakeUser;
  /** Mapped to the labd admin. */
  alice: FakeUser;
  /** Mapped to the labd member 'bob'. */
  bob: FakeUser;
  /** In the room, not in the user map. */
  mallory: FakeUser;
  env: Record<string, string>;
}

export interface BotLabOptions {
  dataDir?: string;
  env?: Record<string, string>;
  tokenFile?: boolean;
}

/** `env`: more settings for labd (e.g. LABD_KUBECONFIG); `tokenFile`: hand the bot its token in a file instead of LABD_MATRIX_TOKEN. */
export async function startBotLab(o?: BotLabOptions): Promise<BotLab>;
/** The same with labd started by `start` (e.g. InProcessLabd.start). */
export async function startBotLab<L extends StartedLabd>(o: BotLabOptions, start: (o: LabdOptions) => Promise<L>): Promise<BotLab<L>>;
export async function startBotLab(
  o: BotLabOptions = {},
  start: (o: LabdOptions) => Promise<StartedLabd> = (x) => LabdProcess.start(x),
): Promise<BotLab<StartedLabd>> {
  const fake = await FakeMatrix.start();
  const bot = fake.addUser('labd');
  const alice = fake.addUser('alice');
  const bob = fake.addUser('bob');
  const mallory = fake.addUser('mallory');
  const room = fake.createRoom(alice.userId, { alias: 'ops', members: [bob.userId, mallory.userId] });
  const keys = new KeyLab();
  const adminKey = keys.key('admin');
  const env: Record<string, string> = {
    LABD_MATRIX_HOMESERVER: fake.url,
    LABD_MATRIX_ROOMS: room.alias!,
    LABD_MATRIX_USERS: `${alice.userId}=admin,${bob.userId}=bob`,
    ...o.env,
  };
  if (o.tokenFile) {
    const file = join(keys.dir, 'matrix-token');
    // A trailing newline, as `echo` or a mounted Secret leaves it.
    writeFileSync(file, `${bot.accessToken}\n`, { mode: 0o600 });
    env.LABD_MATRIX_ACCESS_TOKEN_FILE = file;
  } else env.LABD_MATRIX_TOKEN = bot.accessToken;
  let labd: StartedLabd | undefined;
  try {
    labd = await start({ adminKeys: [keys.publicKey(adminKey)], env, dataDir: o.dataDir });
    const r = await labd.sshAsync(adminKey, ['user', 'add', 'bob', '--role', 'member']);
    if (r.status !== 0 && !/exists/.test(r.stderr)) throw new Error(`user add bob: ${r.stderr}`);
    const started = labd;
    await waitFor(
      'the bot to join and sync',
      () =>
        fake.store.membership(room, bot.userId) === 'join' &&
        fake.requests.some((q) => q.path.endsWith('/sync') && q.userId === bot.userId && q.status === 200),
      started,
    );
    return { fake, labd: started, keys, adminKey, room, bot, alice, bob, mallory, env };
  } catch (err) {
    // A failed start must not leave the fake server holding the test process open.
    await labd?.stop();
    await fake.stop();
    keys.cleanup();
    throw err;
  }
}

/** Polls until `check` returns a truthy value; generous deadline, no timing assertions. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, labd?: { logs(): string }, ms = 60000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${labd ? `\nlabd log:\n${labd.logs().slice(-4000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The bot's events that reply to `event`. */
export function repliesTo(fake: FakeMatrix, bot: FakeUser, event: MatrixEvent): MatrixEvent[] {
  return fake
    .timeline(event.room_id)
    .filter(
      (e) =>
        e.sender === bot.userId &&
        e.type === 'm.room.message' &&
        (e.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } } | undefined)?.['m.in_reply_to']?.event_id === event.event_id,
    );
}

export function replyTo(lab: Pick<BotLab<StartedLabd>, 'fake' | 'bot' | 'labd'>, event: MatrixEvent, ms?: number): Promise<MatrixEvent> {
  return waitFor(`the bot's reply to '${String(event.content.body).slice(0, 60)}'`, () => repliesTo(lab.fake, lab.bot, event)[0], lab.labd, ms);
}

export async function stopBotLab(lab: BotLab<StartedLabd> | undefined): Promise<void> {
  if (!lab) return;
  await lab.labd.stop();
  await lab.fake.stop();
  lab.keys.cleanup();
}
