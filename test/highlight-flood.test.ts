/**
 * Issue #24 item 1: highlight.js is roughly quadratic on some inputs (64 KiB of `a` as ini blocked
 * the event loop 23 s on the paste page, 16 s on the git blob page). Highlighting now runs in a
 * worker thread with a deadline: while such a page is requested, /healthz keeps answering, and the
 * page comes back with its text (plain once the deadline passed). The time-out is cached, and the
 * replaced worker highlights the next page.
 */
import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { GitLab } from './support/git.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.once('error', reject);
    });
    req.once('error', reject);
  });
}

/** GETs `url` while asking /healthz again and again; what /healthz did while the page was in flight. */
async function pageWhileProbing(httpPort: number, url: string) {
  const started = Date.now();
  let done = false;
  const page = get(url).finally(() => (done = true));
  const answeredDuring: number[] = [];
  while (!done) {
    const t = Date.now();
    const h = await get(`http://127.0.0.1:${httpPort}/healthz`);
    assert.equal(h.status, 200);
    if (!done) answeredDuring.push(Date.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
  const res = await page;
  return { res, answeredDuring, pageMs: Date.now() - started, worstHealthzMs: Math.max(0, ...answeredDuring) };
}

/** The text inside the page's code block, tags removed. */
const codeText = (body: string) => (/<code[^>]*>([\s\S]*)<\/code>/.exec(body)?.[1] ?? '').replace(/<[^>]*>/g, '');

describe('syntax highlighting cannot hold the event loop', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  let git: GitLab;
  let alice: string;

  before(async () => {
    const admin = lab.key('admin');
    alice = lab.key('alice');
    labd = await InProcessLabd.start({
      adminKeys: [lab.publicKey(admin)],
      env: { LABD_GIT_ANON_ACCESS: 'read-only', LABD_HIGHLIGHT_TIMEOUT: '1s', LABD_HIGHLIGHT_MAX_BYTES: String(1024 * 1024) },
    });
    git = new GitLab(labd);
    assert.equal((await labd.ssh(admin, ['user', 'add', 'alice', '--role', 'operator', '--key', `'${lab.publicKey(alice)}'`])).status, 0);
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
  });

  for (const size of [64 * 1024, 128 * 1024]) {
    test(`a paste of ${size / 1024} KiB of 'a' as a.ini: /healthz answers while its page is built, the page has the text`, async () => {
      const name = `a${size / 1024}.ini`;
      const up = await labd.ssh(alice, ['paste', name], { input: 'a'.repeat(size) });
      assert.equal(up.status, 0, up.stderr);
      const url = `http://127.0.0.1:${labd.httpPort}/p/alice/${name}`;
      const { res, answeredDuring, pageMs, worstHealthzMs } = await pageWhileProbing(labd.httpPort, url);
      console.log(`${name}: page in ${pageMs} ms; /healthz answered ${answeredDuring.length} times meanwhile, worst ${worstHealthzMs} ms`);
      assert.equal(res.status, 200);
      assert.equal(codeText(res.body), 'a'.repeat(size), 'the page shows the whole text');
      assert.ok(answeredDuring.length > 0, '/healthz answered while the page was in flight');

      // Asked again: the time-out is remembered, the worker is not tied up a second time.
      const timeouts = () =>
        labd
          .logs()
          .split('\n')
          .filter((l) => l.includes('highlighting took too long') && l.includes(name)).length;
      assert.equal(timeouts(), 1);
      const again = await get(url);
      assert.equal(again.status, 200);
      assert.equal(timeouts(), 1, 'the second request was served from the cache');
    });
  }

  test('the git blob page of such a file: /healthz answers meanwhile, the page has the text', async () => {
    assert.equal((await labd.ssh(alice, ['repo', 'create', 'slow'])).status, 0);
    const text = 'a'.repeat(64 * 1024);
    const wt = git.workTree({ 'A.java': text, 'b.ini': text.slice(1) });
    const push = await git.gitAsync(alice, ['push', git.url('slow'), 'main'], { cwd: wt });
    assert.equal(push.status, 0, push.stderr);
    for (const file of ['A.java', 'b.ini']) {
      const url = `http://127.0.0.1:${labd.httpPort}/git/slow/-/blob?ref=main&path=${file}`;
      const { res, answeredDuring, pageMs, worstHealthzMs } = await pageWhileProbing(labd.httpPort, url);
      console.log(`blob ${file}: page in ${pageMs} ms; /healthz answered ${answeredDuring.length} times meanwhile, worst ${worstHealthzMs} ms`);
      assert.equal(res.status, 200);
      assert.ok(codeText(res.body).includes('a'.repeat(1000)), 'the page shows the text');
      assert.ok(answeredDuring.length > 0, '/healthz answered while the page was in flight');
    }
  });

  test('after a time-out the replaced worker still highlights ordinary code', async () => {
    const up = await labd.ssh(alice, ['paste', 'ok.js'], { input: 'function f() { return "x"; }\n' });
    assert.equal(up.status, 0, up.stderr);
    const res = await get(`http://127.0.0.1:${labd.httpPort}/p/alice/ok.js`);
    assert.equal(res.status, 200);
    assert.match(res.body, /class="hljs-keyword">function</);
  });
});
