/**
 * Runs the Matrix homeserver fake on its own so a person can point labd at it:
 *   npm run fake-matrix -- --port 8008
 * Prints the bot's access token and the room, and a human user's token to talk to the bot with curl.
 */
import { parseArgs } from 'node:util';
import { FakeMatrix } from './server.ts';

const USAGE = 'usage: npm run fake-matrix -- [--port N] [--host ADDR] [--server-name NAME] [--user NAME]...';

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '8008' },
        host: { type: 'string', default: '127.0.0.1' },
        'server-name': { type: 'string', default: 'fake.test' },
        user: { type: 'string', multiple: true, default: ['alice'] },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`fake-matrix: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) return void console.log(USAGE);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected 0-65535, got '${values.port}'`);
  const fake = await FakeMatrix.start({ host: values.host, port, serverName: values['server-name'] });
  const bot = fake.addUser('labd');
  const humans = values.user.map((name) => fake.addUser(name));
  const room = fake.createRoom(humans[0]?.userId ?? bot.userId, { alias: 'lab', members: humans.slice(1).map((h) => h.userId) });
  console.log(`fake-matrix listening on ${fake.url} (server name ${fake.serverName})`);
  console.log(`room ${room.roomId} (${room.alias})`);
  console.log(`bot ${bot.userId} access token: ${bot.accessToken}`);
  for (const h of humans) console.log(`user ${h.userId} access token: ${h.accessToken}`);
  console.log('');
  const labdName = (userId: string) => userId.slice(1).split(':')[0]!;
  const userMap = humans.map((h) => `${h.userId}=${labdName(h.userId)}`).join(',');
  console.log('Steps, in order:');
  console.log(`1. Start labd with the bot; your key as the initial admin lets you create the users in step 2:`);
  console.log(
    `   LABD_MATRIX_HOMESERVER=${fake.url} LABD_MATRIX_TOKEN=${bot.accessToken} LABD_MATRIX_ROOMS='${room.alias}' LABD_MATRIX_USERS='${userMap}' LABD_INITIAL_ADMIN_KEYS="$(cat ~/.ssh/id_ed25519.pub)" npm start`,
  );
  console.log(`2. Create the labd user each Matrix user maps to (until then they act as guests); in another terminal:`);
  for (const h of humans) console.log(`   ssh -p 2222 localhost user add ${labdName(h.userId)} --role admin < /dev/null`);
  if (humans[0]) {
    // The transaction id makes a PUT idempotent: the homeserver answers a reused id with the first event.
    // The URL stays in single quotes: a room id starts with '!', which an interactive bash expands inside double quotes.
    console.log(`3. Send a command as ${humans[0].userId} (each message needs a fresh transaction id; this one uses the clock):`);
    console.log(
      `   curl -X PUT -H 'Authorization: Bearer ${humans[0].accessToken}' -d '{"msgtype":"m.text","body":"!lab whoami"}' '${fake.url}/_matrix/client/v3/rooms/${encodeURIComponent(room.roomId)}/send/m.room.message/'"txn-$(date +%s%N)"`,
    );
    console.log(`4. Read the bot's answer:`);
    console.log(`   curl -H 'Authorization: Bearer ${humans[0].accessToken}' '${fake.url}/_matrix/client/v3/sync?timeout=0'`);
  }
  const stop = () => void fake.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`fake-matrix: ${(err as Error).message}`);
  process.exit(1);
});
