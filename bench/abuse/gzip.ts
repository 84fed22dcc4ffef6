/**
 * Gzip amplification flood (issue #24 item 3): `--parallel` anonymous POSTs to
 * /git/REPO.git/git-upload-pack, each a ~15 KB gzip body inflating to 15 MiB (under
 * git.httpMaxBody). Before the shared in-flight budget, 80 of them grew labd by 1.4 GB; now the
 * ones past git.httpMaxInflight are refused with 503. Prints statuses and the git processes held.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { gitProcessSampler } from './git-processes.ts';

export async function gzipFlood(
  t: { pid: number; httpPort: number; repo: string },
  atFullStrength: () => void,
  o: { parallel?: number; inflateMiB?: number } = {},
): Promise<string> {
  const parallel = o.parallel ?? 80;
  const inflate = (o.inflateMiB ?? 15) * 1024 * 1024;
  // A byte git cannot read as a pkt-line length: git stops at once, the cost is all labd's. Made
  // off this event loop, so the /healthz probe measures labd, not the bench.
  const bomb = await promisify(gzip)(Buffer.alloc(inflate, 'z'), { level: 9 });
  const git = gitProcessSampler(t.pid);
  const statuses = new Map<number, number>();
  await Promise.all(
    Array.from({ length: parallel }, async (_, i) => {
      if (i === parallel - 1) atFullStrength();
      try {
        const res = await fetch(`http://127.0.0.1:${t.httpPort}/git/${t.repo}.git/git-upload-pack`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip' },
          body: bomb,
        });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      } catch {
        statuses.set(0, (statuses.get(0) ?? 0) + 1);
      }
    }),
  );
  return `${parallel} anonymous gzip bombs (${bomb.length} bytes → ${inflate / 1024 / 1024} MiB each): statuses ${JSON.stringify(Object.fromEntries(statuses))} (0: connection error), git processes held at most ${git.stop()}`;
}
