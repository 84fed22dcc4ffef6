/**
 * Every `ssh …` example in the README and in `--help` works when pasted into a shell: bash does the
 * quoting and word splitting exactly as a user's shell would, then the real OpenSSH client joins
 * the words and labd splits them again. A wrapper named `ssh` on PATH only points the client at
 * this labd (the examples' `-p 2222` and host names are the README's).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { EXAMPLE_EFFECTS, type ExampleShell, type Ran } from './support/example-effects.ts';
import { freePort, KeyLab, LabdProcess, ROOT, run } from './support/labd.ts';
import { until } from './support/wait.ts';

interface CommandInfo {
  command: string;
  mutating: boolean;
}

/** The labd commands an example line runs: each `ssh [-p N] [-t] HOST WORDS` part, by its longest command path. */
export function commandsOf(line: string, commands: readonly CommandInfo[]): CommandInfo[] {
  const out: CommandInfo[] = [];
  for (const part of line.split(/;|\|/)) {
    const m = /^\s*ssh(?:\s+-p\s+\d+|\s+-t)*\s+\S+\s+(.*)$/.exec(part);
    if (!m) continue;
    const words = m[1]!.trim().split(/\s+/);
    let best: CommandInfo | undefined;
    for (const c of commands) {
      const path = c.command.split(' ');
      if (path.every((w, i) => words[i] === w) && (!best || path.length > best.command.split(' ').length)) best = c;
    }
    if (best) out.push(best);
  }
  return out;
}

/** Contacts 12 and 14 of the README's crm examples, so they run as written; José (tag work) for `crm ls jose --tag work`. */
function seedCards(): string {
  const names = ['José Martí', ...Array.from({ length: 10 }, (_, i) => `Seed Person ${i + 2}`), 'Charles Babbage', 'Seed Person 13', 'Mary Somerville'];
  return names
    .map((name, i) => {
      const tags = name === 'José Martí' || name === 'Charles Babbage' ? 'CATEGORIES:work\r\n' : '';
      return `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:seed-${i + 1}\r\nFN:${name}\r\n${tags}END:VCARD\r\n`;
    })
    .join('');
}

/** The `ssh …` lines of the README's sh code blocks (the `-t` TUI line without a command is the TUI test's). */
export function readmeExamples(readme: string): string[] {
  const out: string[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of block[1]!.split('\n')) {
      const line = raw.replace(/\s+#.*$/, '').trim();
      // ssh commands, and git over SSH (it runs the same ssh).
      if (!/(^|\| )ssh /.test(line) && !/^git (push|clone) ssh:\/\//.test(line)) continue;
      if (/^ssh( -p \d+)?( -t)? \S+$/.test(line)) continue;
      out.push(line);
    }
  }
  return out;
}

/** Lines that would reach outside this machine (the test network is loopback only): not run. */
const OUTSIDE = [/ repo import upstream https:/, / repo sync upstream$/];

/** --help lines about a reader's own contacts (12 and 14): run on two contacts made for them, by their IDs. */
const READERS_DATA = / crm (edit|note|met|tag|link|rm) 12\b/;

/** Lines that wait for a peer by design; they are run in the background and stopped. */
const WAITS = [/ sub backups$/, / pipe chat$/, / pub news -p$/];

/** Examples whose backend (Alertmanager) this labd has none of: they must get past parsing and say so. */
const NEEDS_BACKEND = [/ (alerts|ack \d+|unack \d+)( |$)/];

describe('README and --help examples, pasted into a shell', () => {
  const lab = new KeyLab();
  let labd: LabdProcess;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let fakeKube: ChildProcess;

  before(async () => {
    home = join(lab.dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    const me = lab.key('me');
    writeFileSync(join(home, '.ssh', 'id_ed25519'), readFileSync(me), { mode: 0o600 });
    writeFileSync(join(home, '.ssh', 'id_ed25519.pub'), readFileSync(`${me}.pub`));
    // The README's by-hand Kubernetes path: `npm run fake-kube` and labd on the example config.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const kubeconfig = join(lab.dir, 'fake.kubeconfig');
    fakeKube = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/support/fake-kube/main.ts',
        '--port',
        String(await freePort()),
        '--fixture',
        'test/support/fake-kube/fixture.example.yaml',
        '--kubeconfig',
        kubeconfig,
      ],
      { cwd: ROOT, stdio: 'ignore' },
    );
    await until('the fake-kube kubeconfig', () => existsSync(kubeconfig));
    assert.match(readme, /LABD_CONFIG=test\/support\/fake-kube\/labd.example.yaml LABD_KUBECONFIG=/);
    labd = await LabdProcess.start({
      adminKeys: [lab.publicKey(me)],
      env: { LABD_CONFIG: join(ROOT, 'test/support/fake-kube/labd.example.yaml'), LABD_KUBECONFIG: kubeconfig },
    });
    // The files the examples name, in the shell's working directory.
    writeFileSync(join(home, 'notes.md'), '# notes\n');
    writeFileSync(join(home, 'log.txt'), 'a log line\n');
    writeFileSync(join(home, 'status.json'), '{"ok":true}\n');
    writeFileSync(join(home, 'contacts.vcf'), 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\nEMAIL:grace@example.org\r\nEND:VCARD\r\n');
    writeFileSync(join(home, 'google.csv'), 'First Name,Last Name,E-mail 1 - Value\nAlan,Turing,alan@example.org\n');
    writeFileSync(join(home, 'ada.vcf'), 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Augusta Ada King\r\nEMAIL:augusta@example.org\r\nEND:VCARD\r\n');
    writeFileSync(join(home, 'seed.vcf'), seedCards());
    for (const name of ['carol', 'carol-laptop', 'dave', 'erin', 'key']) writeFileSync(join(home, `${name}.pub`), readFileSync(`${lab.key(name)}.pub`));
    // The git examples push this repository (a main branch with zsh/zshrc).
    mkdirSync(join(home, 'zsh'));
    writeFileSync(join(home, 'zsh', 'zshrc'), 'export EDITOR=vi\n');
    const git = (...args: string[]) =>
      assert.equal(
        run('git', args, {
          cwd: home,
          env: {
            PATH: process.env.PATH,
            HOME: home,
            GIT_AUTHOR_NAME: 'Me',
            GIT_AUTHOR_EMAIL: 'me@example.net',
            GIT_COMMITTER_NAME: 'Me',
            GIT_COMMITTER_EMAIL: 'me@example.net',
          },
        }).status,
        0,
        args.join(' '),
      );
    git('init', '-q', '-b', 'main');
    git('add', 'zsh/zshrc');
    git('commit', '-q', '-m', 'zshrc');
    const config = join(lab.dir, 'ssh_config');
    writeFileSync(
      config,
      [
        'Host *',
        '  HostName 127.0.0.1',
        `  Port ${labd.sshPort}`,
        `  IdentityFile ${join(home, '.ssh', 'id_ed25519')}`,
        '  IdentitiesOnly yes',
        '  IdentityAgent none',
        '  StrictHostKeyChecking no',
        '  UserKnownHostsFile /dev/null',
        '  BatchMode yes',
        '  LogLevel ERROR',
        '',
      ].join('\n'),
    );
    const bin = join(lab.dir, 'bin');
    mkdirSync(bin);
    const realSsh = run('sh', ['-c', 'command -v ssh']).stdout.trim();
    // Drops the README's `-p 2222` (the config names this labd's port), keeps every other word as the shell gave it;
    // a `-p` that is not followed by a port (pub's public flag) is a word like any other.
    writeFileSync(
      join(bin, 'ssh'),
      `#!/bin/bash\na=()\nwhile [ $# -gt 0 ]; do if [ "$1" = -p ] && [[ "\${2:-}" =~ ^[0-9]+$ ]]; then shift 2; continue; fi; a+=("$1"); shift; done\nexec ${realSsh} -F ${config} "\${a[@]}"\n`,
    );
    chmodSync(join(bin, 'ssh'), 0o755);
    env = { PATH: `${bin}:${process.env.PATH}`, HOME: home };
  });
  after(async () => {
    await labd?.stop();
    fakeKube?.kill('SIGTERM');
    lab.cleanup();
  });

  function shell(line: string) {
    return run('bash', ['-c', line], { cwd: home, env, input: '' });
  }

  /** Checks what an example line did (test/support/example-effects.ts); whether one was there to check. */
  function checkEffects(ran: Ran): boolean {
    const sh: ExampleShell = { run: shell, home };
    const effects = EXAMPLE_EFFECTS.filter((e) => e.line.test(ran.line));
    for (const e of effects) e.check(sh, ran);
    return effects.length > 0;
  }

  const helpCommands = (): CommandInfo[] => JSON.parse(shell('ssh HOST help --json').stdout) as CommandInfo[];

  /** `shell` without blocking the event loop, so independent lines can run side by side. */
  function shellAsync(line: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const child = spawn('bash', ['-c', line], { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  }

  function assertParsed(line: string, r: { status: number | null; stderr: string }) {
    assert.notEqual(r.status, 2, `${line}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /unexpected argument|unknown flag|unknown command|unterminated/, line);
  }

  async function background(line: string): Promise<{ stop(): Promise<string> }> {
    const child = spawn('bash', ['-c', `exec ${line}`], { cwd: home, env, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const closed = new Promise<void>((r) => child.on('close', () => r()));
    return {
      async stop() {
        child.kill('SIGTERM');
        await closed;
        return err;
      },
    };
  }

  test('the by-hand Kubernetes path: the README names one kubeconfig for fake-kube and labd, the example config none', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const written = /npm run fake-kube -- .*--kubeconfig (\S+)/.exec(readme)?.[1];
    const used = /LABD_CONFIG=test\/support\/fake-kube\/labd.example.yaml LABD_KUBECONFIG=(\S+)/.exec(readme)?.[1];
    assert.ok(written);
    assert.equal(used, written);
    assert.doesNotMatch(readFileSync(join(ROOT, 'test/support/fake-kube/labd.example.yaml'), 'utf8'), /^\s*kubeconfig:/m);
  });

  test('the README explains the quoting rule and every ssh example in it runs', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.match(readme, /Free text is taken from the trailing words/);
    const lines = readmeExamples(readme);
    assert.ok(lines.length >= 20, `found only ${lines.length} examples`);
    const waiting: { line: string; stop(): Promise<string> }[] = [];
    // The README's collaborator, and the contacts its crm lines name (12, 14, José).
    assert.equal(shell('ssh HOST user add bob < /dev/null').status, 0);
    assert.equal(shell('ssh HOST crm import < seed.vcf').status, 0);
    assert.equal(JSON.parse(shell('ssh HOST crm show 12 --json').stdout).name, 'Charles Babbage');
    const commands = helpCommands();
    /** Examples of commands that change data with no check of what they did: must stay empty. */
    const unchecked: string[] = [];
    // Waiting clients are stopped whatever happens, so a failed example leaves no ssh behind.
    const stopped: string[] = [];
    try {
      for (const line of lines) {
        if (OUTSIDE.some((re) => re.test(line))) continue;
        if (WAITS.some((re) => re.test(line))) {
          waiting.push({ line, ...(await background(line)) });
          continue;
        }
        const r = shell(line);
        assertParsed(line, r);
        let refusal = true;
        if (NEEDS_BACKEND.some((re) => re.test(line))) {
          assert.equal(r.status, 1, `${line}\n${r.stderr}`);
          assert.match(r.stderr, /configured/, line);
        } else if (/keys add < ~\/\.ssh\/id_ed25519\.pub/.test(line)) {
          // The admin's own initial key: registered already, which is the answer.
          assert.match(r.stderr, /already registered/, line);
        } else if (/^ssh \S+@\S+ join /.test(line)) {
          // The admin's key asking for another user's SSH name (carol exists by now): a plain key never
          // logs in as another account's name, so sshd-style refusal before join runs.
          assert.equal(r.status, 255, `${line}\n${r.stderr}`);
          assert.match(r.stderr, /Permission denied/, line);
        } else if (/^ssh \S+ join /.test(line)) {
          // Run by the admin, whose key has an account: join is for keys without one (test/access-signup.test.ts).
          assert.match(r.stderr, /you already have an account/, line);
        } else {
          assert.equal(r.status, 0, `${line}\n${r.stderr}`);
          refusal = false;
        }
        const checked = !refusal && checkEffects({ ...r, line });
        if (!refusal && !checked && commandsOf(line, commands).some((c) => c.mutating)) unchecked.push(line);
      }
    } finally {
      for (const w of waiting) stopped.push(await w.stop());
    }
    waiting.forEach((w, i) => assert.doesNotMatch(stopped[i]!, /error:/, w.line));
    // What the examples did: carol exists with two keys, and the comment-less paste round-tripped.
    const users = JSON.parse(shell('ssh HOST user ls --json').stdout) as { name: string; keys: number }[];
    assert.equal(users.find((u) => u.name === 'carol')?.keys, 2);
    assert.deepEqual(unchecked, [], 'examples that change data, with nothing checking what they did (test/support/example-effects.ts)');
  });

  test('every example in --help runs when pasted into a shell', async () => {
    const commands = JSON.parse(shell('ssh HOST help --json').stdout) as { command: string }[];
    // Reading help changes nothing: four clients at a time, the answers kept in the commands' order.
    const helps: { status: number | null; stdout: string; stderr: string }[] = [];
    let next = 0;
    const reader = async () => {
      while (next < commands.length) {
        const i = next++;
        helps[i] = await shellAsync(`ssh HOST ${commands[i]!.command} --help`);
      }
    };
    await Promise.all([reader(), reader(), reader(), reader()]);
    const examples: string[] = [];
    for (const [i, { command }] of commands.entries()) {
      const r = helps[i]!;
      assert.equal(r.status, 0, `${command} --help: ${r.stderr}`);
      for (const m of r.stdout.matchAll(/^(?:\S+: )?example: (.+)$/gm)) {
        const text = m[1]!.replace(/ \(.*\)$/, '').trim();
        // A labd command, or an ssh line; other tools' examples (git clone over HTTP with a token) are not labd's to run.
        if (/(^|\| )ssh /.test(text)) examples.push(text);
        else if (commands.some((c) => text === c.command || text.startsWith(`${c.command} `))) examples.push(`ssh HOST ${text}`);
      }
    }
    assert.ok(
      examples.some((e) => e.includes('ack 12')),
      examples.join('\n'),
    );
    shell('ssh HOST user add dora < /dev/null');
    // The README's examples made a token named laptop; --help's makes its own.
    shell('ssh HOST token rm laptop --yes');
    // The contacts the crm lines name as 12 and 14, made for them here.
    const made = (name: string) => (JSON.parse(shell(`ssh HOST crm add ${name} --tag work --json`).stdout) as { id: number }).id;
    const [twelve, fourteen] = [made('Help Twelve'), made('Help Fourteen')];
    const unchecked: string[] = [];
    for (const example of examples) {
      // carol exists by now (the README made her): a new user is erin, with a key of her own; other lines name dora.
      let line = /user add carol/.test(example) ? example.replaceAll('carol', 'erin') : example.replace('carol', 'dora');
      if (READERS_DATA.test(line)) line = line.replace(/ 12\b/, ` ${twelve}`).replace(/ 14\b/, ` ${fourteen}`);
      const r = shell(line);
      assertParsed(line, r);
      if (NEEDS_BACKEND.some((re) => re.test(line))) {
        assert.equal(r.status, 1, `${line}\n${r.stderr}`);
        assert.match(r.stderr, /configured/, line);
        continue;
      }
      assert.equal(r.status, 0, `${line}\n${r.stdout}${r.stderr}`);
      if (!checkEffects({ ...r, line }) && commandsOf(line, commands as CommandInfo[]).some((c) => c.mutating)) unchecked.push(line);
    }
    assert.deepEqual(unchecked, [], 'examples that change data, with nothing checking what they did (test/support/example-effects.ts)');
  });

  test('free text in trailing words reaches the command whole', () => {
    // No Alertmanager here: the ack gets past parsing, to the alert lookup.
    const r = shell('ssh HOST ack 1 --for 30m looking at the disk');
    assertParsed('ack', r);
    const quoted = shell(`ssh HOST ack 1 --comment 'looking at the disk'`);
    assert.equal(quoted.status, 2);
    assert.match(quoted.stderr, /unknown flag '--comment'/);
  });
});

describe('README: what a newcomer needs in the first hour', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  test('the Quickstart says a bare start lets nobody in and how to add yourself', () => {
    const quickstart = readme.slice(readme.indexOf('## Quickstart'), readme.indexOf('## Logging in'));
    assert.match(quickstart, /lets nobody in/);
    assert.match(quickstart, /LABD_INITIAL_ADMIN_KEYS="\$\(cat ~\/\.ssh\/id_ed25519\.pub\)" npm start/);
    assert.match(quickstart, /user add \w+ --role member < \w+\.pub/);
  });
  test('the HTTP table lists the boot API on its own listener', () => {
    const http = readme.slice(readme.indexOf('## HTTP'));
    assert.match(http, /^\| `GET \/v1\/boot\/MAC` \| .*own listener \(`LABD_BOOT_LISTEN`/m);
  });
});
