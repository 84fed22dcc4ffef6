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
  console.log(`try: LABD_MATRIX_HOMESERVER=${fake.url} LABD_MATRIX_TOKEN=${bot.accessToken} LABD_MATRIX_ROOMS='${room.alias}' LABD_MATRIX_USERS='${humans.map((h) => `${h.userId}=${h.userId.slice(1).split(':')[0]}`).join(',')}' npm start`);
  if (humans[0]) {
    console.log(`then: curl -X PUT -H 'Authorization: Bearer ${humans[0].accessToken}' -d '{"msgtype":"m.text","body":"!lab whoami"}' '${fake.url}/_matrix/client/v3/rooms/${encodeURIComponent(room.roomId)}/send/m.room.message/1'`);
    console.log(`and read the answer: curl -H 'Authorization: Bearer ${humans[0].accessToken}' '${fake.url}/_matrix/client/v3/sync?timeout=0'`);
  }
  const stop = () => void fake.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`fake-matrix: ${(err as Error).message}`);
  process.exit(1);
});
