/** Drives the real git client against a labd (LabdProcess or InProcessLabd): clones, commits and pushes over labd's SSH. */
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run, runAsync } from './labd.ts';
import { sshClientOptions } from './ssh-options.ts';

export class GitLab {
  readonly dir = mkdtempSync(join(tmpdir(), 'labd-git-'));
  private n = 0;

  constructor(private readonly labd: { readonly sshPort: number }) {}

  /** git's environment: no user or system config, ssh as the tests run it (with `identity`, or keyless). */
  env(identity: string | undefined, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const ssh = ['ssh', ...sshClientOptions({ identity, connectTimeout: 10 })];
    if (identity) ssh.push('-o', 'PreferredAuthentications=publickey');
    // BatchMode would turn keyboard-interactive off altogether, even without prompts.
    else ssh.push('-o', 'BatchMode=no', '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=keyboard-interactive');
    return {
      PATH: process.env.PATH,
      HOME: this.dir,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
      GIT_SSH_COMMAND: ssh.join(' '),
      ...extra,
    };
  }

  url(name: string): string {
    return `ssh://labd@127.0.0.1:${this.labd.sshPort}/${name}`;
  }

  git(identity: string | undefined, args: string[], o: { cwd?: string; env?: Record<string, string>; input?: string } = {}) {
    return run('git', args, { cwd: o.cwd ?? this.dir, env: this.env(identity, o.env), input: o.input });
  }

  /** `git` without blocking this process's event loop: for a labd running in this process (InProcessLabd). */
  gitAsync(identity: string | undefined, args: string[], o: { cwd?: string; env?: Record<string, string>; input?: string } = {}) {
    return runAsync('git', args, { cwd: o.cwd ?? this.dir, env: this.env(identity, o.env), input: o.input });
  }

  /** A fresh work tree with `files` committed as `commits` commits on main (one file changed per commit). */
  workTree(files: Record<string, string>, commits = 1): string {
    const wt = join(this.dir, `wt${++this.n}`);
    mkdirSync(wt);
    const g = (args: string[]) => {
      const r = run('git', args, { cwd: wt, env: this.env(undefined) });
      if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    };
    g(['init', '-q', '-b', 'main']);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(wt, path)), { recursive: true });
      writeFileSync(join(wt, path), text);
    }
    g(['add', '-A']);
    g(['commit', '-q', '-m', 'first']);
    for (let i = 2; i <= commits; i++) {
      writeFileSync(join(wt, 'counter.txt'), `${i}\n`);
      g(['add', '-A']);
      g(['commit', '-q', '-m', `commit ${i}`]);
    }
    return wt;
  }

  /** One more commit in a work tree. */
  commit(wt: string, path: string, text: string, message: string): void {
    writeFileSync(join(wt, path), text);
    for (const args of [
      ['add', '-A'],
      ['commit', '-q', '-m', message],
    ]) {
      const r = run('git', args, { cwd: wt, env: this.env(undefined) });
      if (r.status !== 0) throw new Error(r.stderr);
    }
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }
}
