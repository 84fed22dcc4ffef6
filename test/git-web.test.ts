/**
 * The git web view in headless Chromium: a repository whose README, description and file names
 * carry HTML and script is shown as text (rendered markdown, sanitised), no script runs, the CSP
 * is strict, and a private repository does not appear.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { dumpDom, titleOf } from './support/chromium.ts';
import { GitLab } from './support/git.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

const HOSTILE = [
  "<script>document.title='pwned'</script>",
  '<img src=x onerror="document.title=\'pwned-img\'">',
  "</code></pre><script>document.title='pwned-break'</script>",
  '<svg onload="document.title=\'pwned-svg\'"></svg>',
].join('\n');

const README = `# Hello forge\n\nSome **bold** text and [a link](https://example.org/) and [bad](javascript:alert(1)).\n\n${HOSTILE}\n\n\`\`\`\n${HOSTILE}\n\`\`\`\n`;
const EVIL_NAME = `"><svg onload=document.title='pwned-name'>.js`;

describe('git web view', () => {
  const lab = new KeyLab();
  const scratch = mkdtempSync(join(tmpdir(), 'labd-chromium-'));
  let labd: InProcessLabd;
  let git: GitLab;
  let alice: string;
  let base: string;
  let head: string;

  before(async () => {
    const admin = lab.key('admin');
    alice = lab.key('alice');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)], env: { LABD_GIT_ANON_ACCESS: 'read-only' } });
    git = new GitLab(labd);
    assert.equal((await labd.ssh(admin, ['user', 'add', 'alice', '--role', 'operator', '--key', `'${lab.publicKey(alice)}'`])).status, 0);
    const made = await labd.ssh(alice, ['repo', 'create', 'web', '--description', `'<script>document.title="pwned-desc"</script>'`]);
    assert.equal(made.status, 0, made.stderr);
    const wt = git.workTree({ 'README.md': README, [EVIL_NAME]: `const s = ${JSON.stringify(HOSTILE)};\n`, 'src/main.ts': 'export const x = 1;\n' }, 2);
    const push = await git.gitAsync(alice, ['push', git.url('web'), 'main'], { cwd: wt });
    assert.equal(push.status, 0, push.stderr);
    head = git.git(alice, ['rev-parse', 'HEAD'], { cwd: wt }).stdout.trim();
    assert.equal((await labd.ssh(alice, ['repo', 'create', 'hush', '--private'])).status, 0);
    base = `http://127.0.0.1:${labd.httpPort}/git`;
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('control: this Chromium runs page scripts', async () => {
    const file = join(scratch, 'control.html');
    writeFileSync(file, `<!doctype html><html><head><title>before</title></head><body>${HOSTILE}</body></html>`);
    assert.match(titleOf(await dumpDom(`file://${file}`, scratch)) ?? '', /^pwned/);
  });

  const noScript = (dom: string) => {
    assert.doesNotMatch(titleOf(dom) ?? '', /^pwned/, 'a script set the title');
    assert.doesNotMatch(dom, /<(script|svg|iframe)\b/i);
    assert.doesNotMatch(dom, /<[^>]+\son(error|load)=/i);
  };

  test('pages send a strict CSP whose only allowance is the stylesheet by hash', async () => {
    const res = await fetch(`${base}/web`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /script-src|unsafe/);
    const text = await res.text();
    const style = /<style>([\s\S]*?)<\/style>/.exec(text)?.[1] ?? '';
    assert.ok(csp.includes(`'sha256-${createHash('sha256').update(style).digest('base64')}'`));
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  test('the README is rendered markdown, sanitised; the hostile description is text', async () => {
    const dom = await dumpDom(`${base}/web`, scratch);
    noScript(dom);
    assert.equal(titleOf(dom), 'web');
    assert.match(dom, /<h1>Hello forge<\/h1>/);
    assert.match(dom, /<strong>bold<\/strong>/);
    assert.match(dom, /<a href="https:\/\/example.org\/"[^>]*>a link<\/a>/);
    assert.doesNotMatch(dom, /href="javascript:/i);
    assert.ok(dom.includes('&lt;script&gt;document.title="pwned-desc"&lt;/script&gt;'), 'the description is shown as text');
    assert.ok(dom.includes("&lt;script&gt;document.title='pwned'&lt;/script&gt;"), 'HTML in the README is shown as text');
  });

  test('list, tree, file, log, commit and raw: hostile names shown as text, nothing runs', async () => {
    const list = await dumpDom(`${base}/`, scratch);
    noScript(list);
    assert.match(list, /href="\/git\/web"/);
    assert.doesNotMatch(list, /hush/, 'a private repository is not listed');
    // Without credentials it asks for them, as for a missing one (nothing is revealed).
    const hush = await fetch(`${base}/hush`);
    assert.equal(hush.status, 401);
    assert.match(hush.headers.get('www-authenticate') ?? '', /^Basic /);

    const tree = await dumpDom(`${base}/web/-/tree?ref=main`, scratch);
    noScript(tree);
    assert.ok(tree.includes("\"&gt;&lt;svg onload=document.title='pwned-name'&gt;.js"), 'the file name is text');
    assert.match(tree, />src\/<\/a>/);

    const file = await dumpDom(`${base}/web/-/blob?ref=main&path=${encodeURIComponent(EVIL_NAME)}`, scratch);
    noScript(file);
    assert.match(file, /class="hljs language-js"/);
    assert.match(file, /class="hljs-keyword"/);

    const log = await dumpDom(`${base}/web/-/log?ref=main`, scratch);
    noScript(log);
    assert.ok(log.includes(`/git/web/-/commit/${head}`));
    assert.match(log, /commit 2/);

    const commit = await dumpDom(`${base}/web/-/commit/${head}`, scratch);
    noScript(commit);
    assert.match(commit, /language-diff/);
    assert.match(commit, /counter\.txt/);

    const raw = await fetch(`${base}/web/-/raw?ref=main&path=README.md`);
    assert.equal(raw.status, 200);
    assert.equal(raw.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.match(raw.headers.get('content-security-policy') ?? '', /sandbox/);
    assert.equal(await raw.text(), README);
    const rawDom = await dumpDom(`${base}/web/-/raw?ref=main&path=README.md`, scratch);
    assert.doesNotMatch(titleOf(rawDom) ?? '', /pwned/);

    assert.equal((await fetch(`${base}/web/-/blob?ref=main&path=..%2F..%2Fetc%2Fpasswd`)).status, 400);
    assert.equal((await fetch(`${base}/web/-/tree?ref=--output%3D%2Ftmp%2Fx`)).status, 400);
    assert.equal((await fetch(`${base}/web/-/blob?ref=main&path=nope`)).status, 404);
  });
});
