/**
 * The bot's command front-end against the real labd process, the fake homeserver and the
 * Kubernetes API fake: the same rows as SSH, escaping, confirmation by ✅ or code, progress edits
 * of a long command, and the access token read from a file.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { replyTo, repliesTo, startBotLab, stopBotLab, waitFor, type BotLab } from './support/fake-matrix/harness.ts';
import type { MatrixEvent } from './support/fake-matrix/rooms.ts';
import { readFixture } from './support/fake-kube/fixture.ts';
import { findResource } from './support/fake-kube/resources.ts';
import { FakeKube } from './support/fake-kube/server.ts';
import type { KubeObject } from './support/fake-kube/store.ts';
import { KeyLab, ROOT } from './support/labd.ts';

const PODS = findResource('', 'v1', 'pods')!;
const PDBS = findResource('policy', 'v1', 'poddisruptionbudgets')!;
const NODES = findResource('', 'v1', 'nodes')!;

type Relation = { rel_type?: string; event_id?: string; key?: string; 'm.in_reply_to'?: { event_id?: string } };
const relation = (e: MatrixEvent) => (e.content['m.relates_to'] ?? {}) as Relation;
const codeOf = (prompt: MatrixEvent) => /confirm ([A-Z0-9]{6})\b/.exec(String(prompt.content.body))?.[1];

describe('Matrix commands answer with the same data as SSH; destructive ones wait for confirmation', () => {
  let lab: BotLab;
  let kube: FakeKube;
  const kubeKeys = new KeyLab();
  const say = (who: 'alice' | 'bob' | 'mallory', body: string) => lab.fake.say(lab.room.roomId, lab[who].userId, body);
  const botEvents = () => lab.fake.timeline(lab.room.roomId).filter((e) => e.sender === lab.bot.userId);
  const auditOf = async (command: string) =>
    (
      JSON.parse((await lab.labd.sshAsync(lab.adminKey, ['audit', '--json'])).stdout) as { command: string; actor: string; via: string; outcome: string }[]
    ).filter((a) => a.command === command);

  before(async () => {
    kube = await FakeKube.start({ objects: readFixture(join(ROOT, 'test/support/fake-kube/fixture.example.yaml')), controllers: false });
    const kubeconfig = kube.writeKubeconfig(join(kubeKeys.dir, 'kubeconfig'));
    lab = await startBotLab({ env: { LABD_KUBECONFIG: kubeconfig, LABD_KUBE_TIMEOUT: '5s', LABD_NODES_EVICT_RETRY: '1s', LABD_MATRIX_CONFIRM_WINDOW: '5m' } });
  });
  after(async () => {
    await stopBotLab(lab);
    await kube?.stop();
    kubeKeys.cleanup();
  });

  test('!lab nodes: the same rows as ssh nodes --json, and an HTML table holding every value', async () => {
    const viaSsh = await lab.labd.sshAsync(lab.adminKey, ['nodes', '--json']);
    assert.equal(viaSsh.status, 0, viaSsh.stderr);
    const sshRows = JSON.parse(viaSsh.stdout) as { name: string; status: string; location: string; internalIp: string; version: string }[];
    assert.deepEqual(
      sshRows.map((n) => n.name),
      ['cp1', 'desk2', 'laptop1'],
    );
    const json = await replyTo(lab, say('alice', '!lab nodes --json'));
    assert.match(String(json.content.formatted_body), /^<pre><code class="language-json">/);
    assert.deepEqual(JSON.parse(String(json.content.body)), sshRows);

    const table = await replyTo(lab, say('alice', '!lab nodes'));
    const html = String(table.content.formatted_body);
    assert.match(html, /^<table><thead><tr><th>NAME<\/th><th>STATUS<\/th>/);
    for (const n of sshRows) {
      for (const value of [n.name, n.status, n.location, n.internalIp, n.version]) assert.ok(html.includes(`<td>${value}</td>`), `${value} in ${html}`);
      assert.match(String(table.content.body), new RegExp(`^${n.name}\\s+${n.status}\\s`, 'm'));
    }
  });

  test('!lab paste ls: the same pastes as ssh paste ls --json; HTML in an argument comes back escaped', async () => {
    for (const name of ['notes.txt', 'plan_b.md']) {
      const put = lab.labd.ssh(lab.adminKey, ['paste', name], { input: `contents of ${name}\n` });
      assert.equal(put.status, 0, put.stderr);
    }
    const sshRows = JSON.parse(lab.labd.ssh(lab.adminKey, ['paste', 'ls', '--json']).stdout) as { name: string; url: string; size: number }[];
    assert.deepEqual(sshRows.map((p) => p.name).sort(), ['notes.txt', 'plan_b.md']);
    const json = await replyTo(lab, say('alice', '!lab paste ls --json'));
    assert.deepEqual(JSON.parse(String(json.content.body)), sshRows);
    const table = await replyTo(lab, say('alice', '!lab paste ls'));
    const html = String(table.content.formatted_body);
    for (const p of sshRows) for (const value of [p.name, p.url]) assert.ok(html.includes(`<td>${value}</td>`), `${value} in ${html}`);

    // Paste names cannot hold markup, so the escaping of a value is shown by an argument echoed in an error.

    const bad = await replyTo(lab, say('alice', '!lab paste cat "<script>alert(1)</script>.txt"'));
    const badHtml = String(bad.content.formatted_body);
    assert.match(badHtml, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.doesNotMatch(badHtml, /<script/);
    assert.match(String(bad.content.body), /<script>alert\(1\)<\/script>/, 'the plain body keeps the text as typed');
  });

  test('a destructive command runs only after its asker confirms with the code; others, unknown and used codes are answered, not run', async () => {
    assert.equal(lab.labd.ssh(lab.adminKey, ['user', 'add', 'carol']).status, 0);
    const ask = say('alice', '!lab user rm carol');
    const prompt = await replyTo(lab, ask);
    assert.match(
      String(prompt.content.body),
      /^'user rm carol' is destructive\. To run it, react ✅ to this message or send '!lab confirm [A-Z0-9]{6}' within 5m\.$/,
    );
    const code = codeOf(prompt)!;

    const bobs = await replyTo(lab, say('bob', `!lab confirm ${code}`));
    assert.equal(String(bobs.content.body), 'Only @alice:fake.test, who asked for that command, can confirm it.');
    lab.fake.react(prompt, lab.bob.userId, '✅');
    const unknown = await replyTo(lab, say('alice', '!lab confirm <b>NOPE</b>'));
    assert.equal(String(unknown.content.body), "No command in this room is waiting for the confirmation code '<B>NOPE</B>'.");
    assert.doesNotMatch(String(unknown.content.formatted_body), /<b>/i);
    assert.match(lab.labd.ssh(lab.adminKey, ['user', 'ls']).stdout, /\bcarol\b/);

    const confirm = say('alice', `!lab confirm ${code.toLowerCase()}`);
    assert.equal(String((await replyTo(lab, confirm)).content.body), 'removed user carol');
    assert.doesNotMatch(lab.labd.ssh(lab.adminKey, ['user', 'ls']).stdout, /\bcarol\b/);
    const again = await replyTo(lab, say('alice', `!lab confirm ${code}`));
    assert.match(String(again.content.body), /^The code '[A-Z0-9]{6}' was already used; send the command again/);
    // A ✅ after the code ran it changes nothing.
    lab.fake.react(prompt, lab.alice.userId, '✅');
    await replyTo(lab, say('alice', '!lab version'));
    assert.equal((await auditOf('user rm')).filter((a) => a.via === 'matrix').length, 1);
    assert.deepEqual(
      repliesTo(lab.fake, lab.bot, ask).map((e) => e.event_id),
      [prompt.event_id],
    );
  });

  test('a ✅ (with a variation selector) from the asker runs a long command: 👀 at once, a reply edited with progress, then the result; other ✅s do nothing', async () => {
    // A pod guarded by a budget that allows no disruption holds the drain until the test lifts it.
    kube.store.create(PODS, {
      metadata: {
        name: 'held-1',
        namespace: 'default',
        labels: { app: 'held' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'held-5c8', uid: 'uid-held', controller: true }],
      },
      spec: { nodeName: 'laptop1', containers: [{ name: 'c', image: 'busybox' }] },
      status: { phase: 'Running' },
    } as KubeObject);
    kube.store.create(PDBS, {
      metadata: { name: 'held', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'held' } } },
      status: { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1 },
    } as KubeObject);

    // A member may not: refused at once, no question asked.
    const refused = await replyTo(lab, say('bob', '!lab node deprovision laptop1'));
    assert.match(String(refused.content.body), /^permission denied: 'node deprovision' needs ops\.nodes \(you are member\)/);

    const ask = say('alice', '!lab node deprovision laptop1 --timeout 5m');
    const prompt = await replyTo(lab, ask);
    assert.match(String(prompt.content.body), /^'node deprovision laptop1 --timeout 5m' is destructive\./);
    lab.fake.react(prompt, lab.bob.userId, '✅');
    lab.fake.react(prompt, lab.alice.userId, '👍');
    await replyTo(lab, say('alice', '!lab version'));
    assert.notEqual((kube.store.get(NODES, undefined, 'laptop1')!.spec as { unschedulable?: boolean }).unschedulable, true, 'nothing ran yet');

    lab.fake.react(prompt, lab.alice.userId, '✅\uFE0F');
    const working = await waitFor(
      'the 👀 on the request',
      () => botEvents().find((e) => e.type === 'm.reaction' && relation(e).event_id === ask.event_id),
      lab.labd,
    );
    assert.equal(relation(working).key, '👀');
    const running = await waitFor('the running reply', () => repliesTo(lab.fake, lab.bot, ask).find((e) => e.event_id !== prompt.event_id), lab.labd);
    assert.match(String(running.content.body), /^running 'node deprovision laptop1 --timeout 5m'…/);
    const edits = () => botEvents().filter((e) => relation(e).rel_type === 'm.replace' && relation(e).event_id === running.event_id);
    const waiting = await waitFor(
      'a progress edit about the budget',
      () => edits().find((e) => /waiting on PDB/.test(String((e.content['m.new_content'] as { body?: string }).body))),
      lab.labd,
    );
    assert.match(
      String((waiting.content['m.new_content'] as { body: string }).body),
      /^running 'node deprovision laptop1 --timeout 5m'…\n(.*\n)*node laptop1 cordoned$/m,
    );
    assert.equal(waiting.content.msgtype, 'm.notice');
    assert.match(String(waiting.content.body), /^\* running/);

    // The held drain is alice's: bob is answered meanwhile.
    const meanwhile = await replyTo(lab, say('bob', '!lab whoami'));
    assert.match(String(meanwhile.content.body), /bob/);
    assert.ok(kube.store.get(NODES, undefined, 'laptop1'), 'the drain is still held');

    const pdb = kube.store.get(PDBS, 'default', 'held')!;
    kube.store.update(PDBS, { ...pdb, status: { ...(pdb.status as object), disruptionsAllowed: 1 } } as KubeObject);
    const result = await waitFor(
      'the result in the last edit',
      () => edits().find((e) => (e.content['m.new_content'] as { body?: string }).body === 'node laptop1 deprovisioned'),
      lab.labd,
    );
    assert.equal((result.content['m.new_content'] as { formatted_body?: string }).formatted_body, 'node laptop1 deprovisioned');
    assert.equal(kube.store.get(NODES, undefined, 'laptop1'), undefined);

    // Nothing ran twice: one audit row, one 👀, one running reply, the result shown once.
    lab.fake.react(prompt, lab.alice.userId, '✅');
    await replyTo(lab, say('alice', '!lab version'));
    const audit = (await auditOf('node deprovision')).filter((a) => a.via === 'matrix');
    assert.deepEqual(audit.map((a) => `${a.actor}:${a.outcome}`).sort(), ['admin:ok', 'bob:permission']);
    assert.equal(botEvents().filter((e) => e.type === 'm.reaction').length, 1);
    assert.equal(repliesTo(lab.fake, lab.bot, ask).length, 2);
    assert.equal(edits().at(-1)!.event_id, result.event_id);
    // Every edit went out with its own transaction id, once.
    const editTxns = edits().map((e) => e.unsigned?.transaction_id);
    assert.equal(new Set(editTxns).size, editTxns.length);
  });

  test('every event the bot sent matched the Matrix spec schemas', () => {
    assert.deepEqual(lab.fake.schemaViolations, []);
    assert.ok(botEvents().some((e) => e.type === 'm.reaction'));
    assert.ok(botEvents().some((e) => e.content['m.new_content']));
  });
});

describe('Matrix confirmation window and the access token file', () => {
  let lab: BotLab;
  before(async () => {
    lab = await startBotLab({ tokenFile: true, env: { LABD_MATRIX_CONFIRM_WINDOW: '1s' } });
  });
  after(async () => {
    await stopBotLab(lab);
  });

  test('the bot runs with its token read (and trimmed) from LABD_MATRIX_ACCESS_TOKEN_FILE', async () => {
    assert.equal(lab.env.LABD_MATRIX_TOKEN, undefined);
    const who = await replyTo(lab, lab.fake.say(lab.room.roomId, lab.alice.userId, '!lab whoami'));
    assert.match(String(who.content.body), /^user: admin$/m);
  });

  test('an expired confirmation runs nothing, by ✅ or by code', async () => {
    assert.equal(lab.labd.ssh(lab.adminKey, ['user', 'add', 'dave']).status, 0);
    const ask = lab.fake.say(lab.room.roomId, lab.alice.userId, '!lab user rm dave');
    const prompt = await replyTo(lab, ask);
    assert.match(String(prompt.content.body), /within 1s\.$/);
    // Waits out the window (a wait, not a timing assertion): the confirmation was made before its prompt was
    // sent, so it has expired once 1 s has passed since the prompt arrived (labd compares with the time it handles the ✅).
    await waitFor('the confirmation window to pass', () => Date.now() > prompt.origin_server_ts + 1100);
    lab.fake.react(prompt, lab.alice.userId, '✅');
    const expired = await waitFor('the answer to the late ✅', () => repliesTo(lab.fake, lab.bot, ask).find((e) => e.event_id !== prompt.event_id), lab.labd);
    assert.equal(String(expired.content.body), 'That confirmation expired (after 1s); nothing was run. Send the command again.');
    const byCode = await replyTo(lab, lab.fake.say(lab.room.roomId, lab.alice.userId, `!lab confirm ${codeOf(prompt)}`));
    assert.match(String(byCode.content.body), /^That confirmation expired/);
    assert.match(lab.labd.ssh(lab.adminKey, ['user', 'ls']).stdout, /\bdave\b/);
    assert.deepEqual(lab.fake.schemaViolations, []);
  });

  test('the token file: unreadable, empty, or set together with the token is one clear line', () => {
    const base = { LABD_MATRIX_HOMESERVER: 'https://m.example.org', LABD_MATRIX_ROOMS: '#ops:example.org' };
    const empty = join(lab.keys.dir, 'empty-token');
    writeFileSync(empty, '\n');
    assert.throws(
      () => loadConfig({ ...base, LABD_MATRIX_ACCESS_TOKEN_FILE: join(lab.keys.dir, 'missing') }),
      /config: matrix\.accessTokenFile \(LABD_MATRIX_ACCESS_TOKEN_FILE\): cannot read \S+missing: ENOENT$/,
    );
    assert.throws(
      () => loadConfig({ ...base, LABD_MATRIX_ACCESS_TOKEN_FILE: empty }),
      /matrix\.accessTokenFile \(LABD_MATRIX_ACCESS_TOKEN_FILE\): \S+empty-token is empty$/,
    );
    assert.throws(
      () => loadConfig({ ...base, LABD_MATRIX_ACCESS_TOKEN_FILE: empty, LABD_MATRIX_TOKEN: 't' }),
      /matrix\.accessTokenFile \(LABD_MATRIX_ACCESS_TOKEN_FILE\): set either the access token or the file holding it, not both$/,
    );
    assert.throws(
      () => loadConfig(base),
      /matrix\.accessToken \(LABD_MATRIX_TOKEN\): required: the bot user's access token \(or matrix\.accessTokenFile \/ LABD_MATRIX_ACCESS_TOKEN_FILE\)$/,
    );
    assert.throws(
      () => loadConfig({ ...base, LABD_MATRIX_TOKEN: 't', LABD_MATRIX_CONFIRM_WINDOW: 'a minute' }),
      /matrix\.confirmWindow \(LABD_MATRIX_CONFIRM_WINDOW\): expected a duration/,
    );
  });
});
