/**
 * bench/abuse/crm: the CRM floods of issue 24 (item 4, and item 9's CRM part) against a running
 * labd, as one member: a large `crm import`, three sync-collections of the whole book at once
 * (following every page), addressbook-queries with thousands of prop-filters, CardDAV PUTs of 4 MiB
 * cards (the issue's) and of cards just under crm.maxCardBytes, and `crm export --format json`.
 * For each: labd's peak RSS and growth, /healthz p99 and max while it ran, and what labd did.
 * Before the fixes: the import held the event loop 43 s (53k cards), a sync built a 222 MB answer
 * (+1.44 GB), 3,000 prop-filters ran 178 s, forty 4 MiB PUTs grew the database by 320 MiB.
 */
import { statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { dav } from '../../test/support/dav-client.ts';
import type { LabdProcess } from '../../test/support/labd.ts';
import { MiB, RssSampler } from '../../test/support/rss.ts';
import { percentile } from '../lib/timing.ts';

export interface CrmFloodOptions {
  labd: LabdProcess;
  /** The member's SSH key (a labd user with the crm permission) and user name. */
  key: string;
  user: string;
  /** Cards in the import (default 30,000). */
  cards?: number;
  /** prop-filters in each query of the filter flood (default 3,000). */
  filters?: number;
  /** PUTs in each PUT flood (default 40). */
  puts?: number;
}

export interface CrmFloodFigure {
  flood: string;
  what: string;
  peakRssMiB: number;
  growthMiB: number;
  healthzP99: number;
  healthzMax: number;
  healthzFailed: number;
}

function healthz(port: number) {
  const latencies: number[] = [];
  let failed = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const r = await dav(port, 'GET', '/healthz');
        if (r.status === 200) latencies.push(performance.now() - t0);
        else failed++;
      } catch {
        failed++;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return { p99: latencies.length ? percentile(latencies, 99) : NaN, max: latencies.length ? Math.max(...latencies) : NaN, failed };
  };
}

async function measured(labd: LabdProcess, flood: string, run: () => Promise<string>): Promise<CrmFloodFigure> {
  const rss = new RssSampler(labd.child.pid!);
  const stop = healthz(labd.httpPort);
  const what = await run();
  const h = await stop();
  const growth = rss.stop();
  return { flood, what, peakRssMiB: rss.peak / MiB, growthMiB: growth / MiB, healthzP99: h.p99, healthzMax: h.max, healthzFailed: h.failed };
}

const vcard = (uid: string, name: string, extra = '') =>
  `BEGIN:VCARD\r\nVERSION:4.0\r\nUID:${uid}\r\nFN:${name}\r\nN:${name.split(' ').reverse().join(';')};;;\r\nEMAIL:${uid}@example.org\r\n${extra}END:VCARD\r\n`;

/** A card with a photo of about `bytes` (a data: URI, as phones send them). */
const photoCard = (uid: string, bytes: number) => vcard(uid, `Photo ${uid}`, `PHOTO:data:image/jpeg;base64,${'A'.repeat(bytes)}\r\n`);

/** Runs every CRM flood in turn; returns one figure per flood. */
export async function crmFloods(o: CrmFloodOptions): Promise<CrmFloodFigure[]> {
  const { labd, key, user } = o;
  const cards = o.cards ?? 30_000;
  const filters = o.filters ?? 3000;
  const puts = o.puts ?? 40;
  const port = labd.httpPort;
  const t = await labd.sshAsync(key, ['token', 'create', '--scope', 'carddav', '--name', 'bench-abuse', '--json']);
  if (t.status !== 0) throw new Error(`token create failed: ${t.stderr}`);
  const auth = `${user}:${(JSON.parse(t.stdout) as { token: string }).token}`;
  const book = `/dav/${user}/contacts/`;
  const out: CrmFloodFigure[] = [];

  out.push(
    await measured(labd, 'crm import', async () => {
      const input = Array.from({ length: cards }, (_, i) => vcard(`flood-${i}`, `Flood ${i}`)).join('');
      const t0 = performance.now();
      const r = await labd.sshStart(key, ['crm', 'import'], { input }).done;
      return `${cards} cards (${(input.length / 1e6).toFixed(1)} MB): exit ${r.status} in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${r.stderr.split('\n').filter(Boolean).pop() ?? ''}`;
    }),
  );

  out.push(
    await measured(labd, 'sync-collection x3', async () => {
      const one = async () => {
        let token = '';
        let pages = 0;
        let bytes = 0;
        let biggest = 0;
        for (;;) {
          const r = await dav(port, 'REPORT', book, {
            auth,
            body: `<d:sync-collection xmlns:d="DAV:"><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/><card:address-data xmlns:card="urn:ietf:params:xml:ns:carddav"/></d:prop></d:sync-collection>`,
          });
          pages++;
          bytes += r.body.length;
          biggest = Math.max(biggest, r.body.length);
          token = /<D:sync-token>([^<]+)</.exec(r.body)?.[1] ?? '';
          if (r.status !== 207 || !token || !/507 Insufficient Storage/.test(r.body) || pages > 10_000) return { pages, bytes, biggest, status: r.status };
        }
      };
      const runs = await Promise.all([one(), one(), one()]);
      const r = runs[0]!;
      return `3 whole-book syncs at once: ${r.pages} pages each, ${(r.bytes / 1e6).toFixed(1)} MB in all, the largest page ${(r.biggest / 1e6).toFixed(2)} MB, last status ${r.status}`;
    }),
  );

  out.push(
    await measured(labd, 'filter flood x3', async () => {
      const body = `<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><C:filter test="allof">${Array.from(
        { length: filters },
        (_, i) => `<C:prop-filter name="EMAIL"><C:text-match>x${i}</C:text-match></C:prop-filter>`,
      ).join('')}</C:filter></C:addressbook-query>`;
      const t0 = performance.now();
      const answers = await Promise.all([1, 2, 3].map(() => dav(port, 'REPORT', book, { auth, body })));
      return `3 queries of ${filters} prop-filters: ${answers.map((a) => a.status).join(', ')} in ${Math.round(performance.now() - t0)} ms`;
    }),
  );

  const dbBytes = () => ['labd.db', 'labd.db-wal'].reduce((n, f) => n + (existsSync(join(labd.dataDir, f)) ? statSync(join(labd.dataDir, f)).size : 0), 0);
  for (const [label, size] of [
    ['PUT 4 MiB cards', 4 * MiB],
    ['PUT 900 KiB cards', 900 * 1024],
  ] as const) {
    out.push(
      await measured(labd, label, async () => {
        const before = dbBytes();
        const statuses = new Map<string, number>();
        for (let i = 0; i < puts; i++) {
          const uid = `put-${size}-${i}`;
          // labd may answer 413 and close while the body is still going out: the write then fails.
          const status = await dav(port, 'PUT', `${book}${uid}.vcf`, { auth, body: photoCard(uid, size), headers: { 'content-type': 'text/vcard' } }).then(
            (r) => String(r.status),
            (err: NodeJS.ErrnoException) => `refused mid-body (${err.code})`,
          );
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
        const list = [...statuses].map(([s, n]) => `${n}x ${s}`).join(', ');
        return `${puts} PUTs: ${list}; database + WAL grew ${((dbBytes() - before) / MiB).toFixed(1)} MiB`;
      }),
    );
  }

  out.push(
    await measured(labd, 'crm export --format json', async () => {
      const t0 = performance.now();
      const r = await labd.sshStart(key, ['crm', 'export', '--format', 'json']).done;
      return `exit ${r.status}: ${(r.stdoutBuffer.length / 1e6).toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
    }),
  );
  return out;
}
