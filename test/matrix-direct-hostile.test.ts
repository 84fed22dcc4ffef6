/** A homeserver (or something posing as one) that answers with an endless body cannot make labd read it all. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'vitest';
import { DirectNotices } from '../src/bot/direct.ts';
import type { BotStore } from '../src/bot/store.ts';
import { createLogger } from '../src/core/logger.ts';

test('an oversized createRoom answer is refused unread and nothing is queued', async () => {
  let sent = 0;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    // 50 MiB in 64 KiB writes, stopped as soon as labd hangs up.
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (sent < 50 * 1024 * 1024) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const queued: unknown[] = [];
  const state = new Map<string, string>();
  const store = {
    getState: async (k: string) => state.get(k),
    setState: async (k: string, v: string | null) => void (v === null ? state.delete(k) : state.set(k, v)),
    queue: async (m: unknown) => void queued.push(m),
  } as unknown as BotStore;
  const direct = new DirectNotices({
    homeserverUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accessToken: 't',
    store,
    userMap: { '@alice:example.org': 'alice' },
    log: createLogger('silent'),
  });
  try {
    await assert.rejects(direct.send('alice', { title: 't', body: 'b' }, { key: 'k', room: null }), /homeserver answered POST createRoom with 200/);
    assert.equal(queued.length, 0);
    assert.equal(state.size, 0);
    assert.ok(sent < 50 * 1024 * 1024, `labd stopped reading: the server got to write ${sent} bytes, not all 50 MiB`);
    assert.equal(await direct.send('bob', { title: 't', body: 'b' }, { key: 'k', room: null }), false, 'no Matrix id: nothing sent');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
