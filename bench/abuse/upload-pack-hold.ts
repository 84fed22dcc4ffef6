/**
 * Upload-pack hold (issue #24 item 5): `--sessions` keyless SSH connections from `--sources`
 * loopback addresses start `git-upload-pack 'REPO'` and then send nothing, for `--hold-ms`.
 * Before, 1,000 of them held 1,000 git processes with no end; now git.maxProcesses and
 * git.maxProcessesPerClient bound them (the rest are refused with a stderr line) and
 * git.idleTimeout ends the silent ones. Prints what was served, refused, and held.
 */
import ssh2 from 'ssh2';
import { gitProcessSampler } from './git-processes.ts';

type Outcome = 'served' | 'refused' | 'error';

function silentUploadPack(port: number, localAddress: string, repo: string, clients: ssh2.Client[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const client = new ssh2.Client();
    clients.push(client);
    let settled = false;
    const done = (v: Outcome) => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    client.on('keyboard-interactive', (_n, _i, _l, _p, finish) => finish([]));
    client.once('error', () => done('error'));
    client.once('close', () => done('error'));
    client.once('ready', () =>
      client.exec(`git-upload-pack '${repo}'`, (err, channel) => {
        if (err) return done('error');
        channel.stderr.resume();
        channel.once('data', () => done('served'));
        channel.once('exit', () => done('refused'));
      }),
    );
    client.connect({ host: '127.0.0.1', port, localAddress, username: 'anon', tryKeyboard: true, authHandler: ['keyboard-interactive'], readyTimeout: 30_000 });
  });
}

export async function uploadPackHold(
  t: { pid: number; sshPort: number; repo: string },
  atFullStrength: () => void,
  o: { sessions?: number; sources?: number; holdMs?: number } = {},
): Promise<string> {
  const sessions = o.sessions ?? 200;
  const sources = o.sources ?? 20;
  const holdMs = o.holdMs ?? 5000;
  const git = gitProcessSampler(t.pid);
  const clients: ssh2.Client[] = [];
  const outcomes: Outcome[] = [];
  // In waves of one session per source, so the pre-auth per-source limit does not refuse them first.
  for (let i = 0; i < sessions; i += sources) {
    const wave = Array.from({ length: Math.min(sources, sessions - i) }, (_, j) => silentUploadPack(t.sshPort, `127.0.4.${1 + j}`, t.repo, clients));
    outcomes.push(...(await Promise.all(wave)));
  }
  atFullStrength();
  const count = (v: Outcome) => outcomes.filter((x) => x === v).length;
  await new Promise((r) => setTimeout(r, holdMs));
  const afterHold = git.now();
  for (const c of clients) c.end();
  return `${sessions} silent upload-packs from ${sources} addresses: ${count('served')} served, ${count('refused')} refused, ${count('error')} failed to connect; git processes held at most ${git.stop()}, ${afterHold} still after ${holdMs} ms`;
}
