/**
 * Issue #24 item 6: a push of many refs. 20,000 tags pushed with the real git client are ONE ops
 * event with counts (it was one event and one git process per ref, ≈24/s); the refs page and
 * `repo tags` show one bounded page with a link to the next.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { renderOpsEvent } from '../src/bot/announce.ts';
import { Database } from '../src/db/sqlite-driver.ts';
import type { StoredOpsEvent } from '../src/ops/events/index.ts';
import { GitLab } from './support/git.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

const TAGS = 20_000;

describe('a push of many refs', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let git: GitLab;
  let admin: string;

  before(async () => {
    admin = lab.key('admin');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_GIT_ANON_ACCESS: 'read-only' } });
    git = new GitLab(labd);
    const r = await labd.ssh(admin, ['repo', 'create', 'tagged']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  const pushEvents = () => {
    const db = new Database(join(labd.dataDir, 'labd.db'), { readonly: true });
    const rows = db.prepare("select id, data, at from ops_events where kind = 'git.pushed' order by id").all() as { id: number; data: string; at: number }[];
    db.close();
    return rows.map((e) => ({ id: e.id, at: new Date(e.at), kind: 'git.pushed', ...JSON.parse(e.data) }) as StoredOpsEvent & { kind: 'git.pushed' });
  };

  test(`${TAGS} tags in one push are one ops event with counts`, async () => {
    const wt = git.workTree({ 'README.md': '# tagged\n' }, 2);
    // The tags are made in one `git update-ref --stdin` (a tag per commit would take minutes).
    const head = (await git.gitAsync(admin, ['rev-parse', 'HEAD'], { cwd: wt })).stdout.trim();
    const input = Array.from({ length: TAGS }, (_, i) => `create refs/tags/v${String(i).padStart(5, '0')} ${head}\n`).join('');
    const made = await git.gitAsync(admin, ['update-ref', '--stdin'], { cwd: wt, input });
    assert.equal(made.status, 0, made.stderr);

    const started = Date.now();
    const push = await git.gitAsync(admin, ['push', '-q', git.url('tagged'), 'main', '--tags'], { cwd: wt });
    assert.equal(push.status, 0, push.stderr);
    console.log(`push of ${TAGS} tags and a branch: ${Date.now() - started} ms`);

    const events = pushEvents();
    assert.equal(events.length, 1, 'one event for the push, not one per ref');
    const e = events[0]!;
    assert.equal(e.commits, 2);
    assert.deepEqual(e.refs?.branches, { created: 1, updated: 0, deleted: 0 });
    assert.deepEqual(e.refs?.tags, { created: TAGS, updated: 0, deleted: 0 });
    assert.equal(e.refs?.total, TAGS + 1);
    assert.equal(e.refs?.names.length, 5, 'a few names, not all of them');
    assert.ok(JSON.stringify(e).length < 1000, 'the stored event stays small');
    assert.equal(
      renderOpsEvent(e).text,
      `admin pushed 2 commits to tagged: 1 branch created, ${TAGS} tags created (main, v00000, v00001, v00002, v00003 and ${TAGS - 4} more)`,
    );

    // Deleting a few of them is one more event, counted as deletions.
    const del = await git.gitAsync(admin, ['push', '-q', git.url('tagged'), ':refs/tags/v00001', ':refs/tags/v00002'], { cwd: wt });
    assert.equal(del.status, 0, del.stderr);
    const again = pushEvents();
    assert.equal(again.length, 2);
    assert.deepEqual(again[1]!.refs?.tags, { created: 0, updated: 0, deleted: 2 });
    assert.equal(again[1]!.commits, 0);
  }, 300_000);

  test('the refs page shows one bounded page and links to the next', async () => {
    const url = `http://127.0.0.1:${labd.httpPort}/git/tagged/-/refs`;
    const first = await fetch(url);
    assert.equal(first.status, 200);
    const page = await first.text();
    console.log(`refs page of a repository with ${TAGS} tags: ${page.length} bytes`);
    assert.ok(page.length < 64 * 1024, `page of ${page.length} bytes`);
    assert.equal((page.match(/\/-\/tree\?ref=v\d{5}"/g) ?? []).length, 100);
    const next = /<a rel="next" href="([^"]+)">Next 100 tags/.exec(page);
    assert.ok(next, 'a link to the next page of tags');
    assert.equal(next[1]!.replace(/&amp;/g, '&'), '/git/tagged/-/refs?kind=tags&after=v00101');

    const second = await (await fetch(`http://127.0.0.1:${labd.httpPort}${next[1]!.replace(/&amp;/g, '&')}`)).text();
    const names = [...second.matchAll(/\/-\/tree\?ref=(v\d{5})"/g)].map((m) => m[1]);
    assert.equal(names.length, 100);
    assert.equal(names[0], 'v00102');
    assert.equal(names[99], 'v00201');

    const last = await (await fetch(`${url}?kind=tags&after=v19950`)).text();
    assert.equal((last.match(/\/-\/tree\?ref=v\d{5}"/g) ?? []).length, 49);
    assert.doesNotMatch(last, /rel="next"/);
    assert.equal((await fetch(`${url}?kind=everything`)).status, 400);
  });

  test('repo tags lists a page and says how to get the next', async () => {
    const r = await labd.ssh(admin, ['repo', 'tags', 'tagged', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const tags = JSON.parse(r.stdout) as { name: string }[];
    assert.equal(tags.length, 100);
    const next = await labd.ssh(admin, ['repo', 'tags', 'tagged', '--after', 'v19990', '-n', '1000', '--json']);
    assert.deepEqual(
      (JSON.parse(next.stdout) as { name: string }[]).map((t) => t.name),
      ['v19991', 'v19992', 'v19993', 'v19994', 'v19995', 'v19996', 'v19997', 'v19998', 'v19999'],
    );
    const text = await labd.ssh(admin, ['repo', 'tags', 'tagged', '-n', '3']);
    assert.match(text.stdout, /more: repo tags tagged --after v00004/);
  });
});
