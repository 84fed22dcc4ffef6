import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { TmuxTerminal } from './support/tmux.ts';

interface TopicRow {
  topic: string;
  subscribers: number;
  publishers: number;
}

describe('pub/sub TUI screen, driven through tmux', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let alice: string;
  let bob: string;
  const terminals: TmuxTerminal[] = [];
  const children: ChildProcess[] = [];

  const sshChild = (key: string, command: string[]): ChildProcess => {
    const child = spawn('ssh', [...labd.sshArgs(key), '--', ...command], { stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(child);
    return child;
  };

  const subscribersOf = async (topic: string): Promise<number> => {
    const child = spawn('ssh', [...labd.sshArgs(alice), '--', 'topics', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await new Promise((r) => child.on('close', r));
    return (JSON.parse(out) as TopicRow[]).find((t) => t.topic === topic)?.subscribers ?? 0;
  };
  const waitForSubscribers = async (topic: string, n: number) => {
    const deadline = Date.now() + 30000;
    while ((await subscribersOf(topic)) !== n) {
      if (Date.now() > deadline) throw new Error(`${topic} never had ${n} subscribers`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    const admin = lab.key('admin');
    alice = lab.key('alice');
    bob = lab.key('bob');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    for (const [name, key] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      const r = await labd.ssh(admin, ['user', 'add', name, '--role', 'member', '--key', `'${lab.publicKey(key)}'`]);
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(async () => {
    for (const t of terminals) t.kill();
    for (const c of children) if (c.exitCode === null) c.kill();
    await labd.stop();
    lab.cleanup();
  });

  async function openPubsub(key: string): Promise<TmuxTerminal> {
    const t = TmuxTerminal.start(['ssh', ...labd.sshArgs(key, { tty: true, extra: ['-o', 'SendEnv=LANG'] })], {
      env: { LANG: 'C.UTF-8' },
      term: 'tmux-256color',
    });
    terminals.push(t);
    const home = await t.waitFor(/Welcome to labd/);
    const first = home.findIndex((l) => /^\s+Account\s/.test(l));
    const target = home.findIndex((l) => /^\s+Pub\/sub\s/.test(l));
    assert.ok(first >= 0 && target > first, `the home menu lists Pub/sub:\n${home.join('\n')}`);
    for (let i = first; i < target; i++) t.sendKeys('Down');
    t.sendKeys('Enter');
    await t.waitFor(/TOPIC\s+ACCESS\s+SUBS\s+PUBS/, 'the topic list');
    return t;
  }

  test('a live topic list; enter tails a topic without escape sequences; escape goes back', async () => {
    const pub = sshChild(alice, ['pub', '-b=false', '-c', 'news']);
    sshChild(alice, ['sub', '-k', 'news']);
    await waitForSubscribers('alice/news', 1);

    const t = await openPubsub(alice);
    await t.waitFor(/alice\/news\s+private\s+1\s+1\s+0/, 'alice/news with one subscriber and one publisher');
    sshChild(alice, ['sub', '-k', 'news']);
    await t.waitFor(/alice\/news\s+private\s+2\s+1\s+0/, 'the list to refresh to two subscribers');

    t.sendKeys('Enter');
    await t.waitFor(/tail alice\/news/, 'the tail view');
    await waitForSubscribers('alice/news', 3);
    pub.stdin!.write('first line\ncursor-A\x1b[5CB-end\ncolour \x1b[31mRED-TEXT\x1b[0m done\nosc \x1b]0;hijacked\x07after\n');
    const lines = await t.waitFor(/after/, 'the published lines in the tail');
    assert.ok(lines.some((l) => l.includes('first line')));
    assert.ok(
      lines.some((l) => l.includes('cursor-AB-end')),
      `the cursor movement was stripped:\n${lines.join('\n')}`,
    );
    assert.ok(lines.some((l) => /osc after/.test(l)) && !lines.some((l) => l.includes('hijacked')), 'the OSC sequence was stripped');
    const red = (await t.screen({ escapes: true })).find((l) => l.includes('RED-TEXT'));
    assert.ok(red);
    assert.doesNotMatch(red, /\x1b\[[0-9;]*31m/, 'a publisher cannot colour the terminal');

    t.sendKeys('Escape');
    await t.waitFor(/TOPIC\s+ACCESS[\s\S]*alice\/news/, 'back to the topic list');
    await waitForSubscribers('alice/news', 2);
    t.sendKeys('Escape');
    await t.waitFor(/Welcome to labd, alice\./, 'back to the home menu');
  });

  test('/ filters the topic list (t is text meanwhile); Escape clears the filter, then leaves (issue #23)', async () => {
    sshChild(alice, ['sub', '-k', 'weather']);
    sshChild(alice, ['sub', '-k', 'alerts-feed']);
    await waitForSubscribers('alice/weather', 1);
    await waitForSubscribers('alice/alerts-feed', 1);
    const t = await openPubsub(alice);
    await t.waitFor(/alice\/alerts-feed[\s\S]*alice\/weather|alice\/weather[\s\S]*alice\/alerts-feed/, 'both topics');
    t.sendKeys('/', 'w', 'e', 'a', 't');
    await t.waitFor(
      (l) => l.some((x) => /alice\/weather/.test(x)) && !l.some((x) => /alice\/alerts-feed/.test(x)) && l.some((x) => /topics \/ weat_/.test(x)),
      'the list filtered',
    );
    t.sendKeys('Enter');
    t.sendKeys('Escape');
    await t.waitFor(
      (l) => l.some((x) => /alice\/weather/.test(x)) && l.some((x) => /alice\/alerts-feed/.test(x)) && !l.some((x) => /Tail which topic/.test(x)),
      'both topics again, still on Pub/sub',
    );
    t.sendKeys('Escape');
    await t.waitFor(/Welcome to labd, alice\./, 'back to the home menu');
    t.sendKeys('q');
    assert.equal(await t.waitForExit(), 0);
  });

  test('others do not see a private topic', async () => {
    sshChild(alice, ['sub', '-k', 'diary']);
    await waitForSubscribers('alice/diary', 1);
    const t = await openPubsub(bob);
    await t.waitFor(/no live topics/, 'an empty list for bob');
    assert.doesNotMatch(await t.text(), /alice\/diary/);
  });

  test("a tail of someone else's private topic is refused by the registry's topic rule (sub on the tui surface), and counted", async () => {
    // Whether or not bob's topic is live, the answer is the same (its existence does not leak).
    sshChild(bob, ['sub', '-k', 'secret']);
    const t = await openPubsub(alice);
    t.sendKeys('t');
    await t.waitFor(/Tail which topic\?/, 'the topic prompt');
    t.sendKeys('-l', 'bob/secret');
    t.sendKeys('Enter');
    await t.waitFor(/error: permission denied: bob\/secret is bob's topic and is not shared with/, 'the refusal in the tail view');
    const metrics = await (await fetch(`http://127.0.0.1:${labd.httpPort}/metrics`)).text();
    assert.match(metrics, /labd_command_duration_seconds_count\{command="sub",surface="tui",outcome="permission"\} 1/, 'the refusal went through the registry');
    t.sendKeys('Escape');
    await t.waitFor(/TOPIC\s+ACCESS/, 'back to the topic list');
    // Her own topic, tailed by name before anyone publishes: the same command, allowed.
    t.sendKeys('t');
    await t.waitFor(/Tail which topic\?/, 'the topic prompt');
    t.sendKeys('-l', 'later');
    t.sendKeys('Enter');
    await t.waitFor(/tail later/, 'the tail of her own topic');
    await waitForSubscribers('alice/later', 1);
  });
});
