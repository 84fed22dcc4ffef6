import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { dumpDom, titleOf } from './support/chromium.ts';
import { KeyLab } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';

/** GET on a fresh connection: a pooled keep-alive socket may be closed by the server just as fetch reuses it. */
function get(url: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.once('error', reject);
    });
    req.once('error', reject);
  });
}

/** The text a reader sees: tags removed, entities decoded. */
function visibleText(dom: string): string {
  const main = /<main>([\s\S]*)<\/main>/.exec(dom)?.[1] ?? '';
  return main
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&amp;/g, '&');
}

const HOSTILE = [
  "<script>document.title='pwned'</script>",
  '<img src=x onerror="document.title=\'pwned-img\'">',
  "</code></pre><script>document.title='pwned-break'</script>",
  '<svg onload="document.title=\'pwned-svg\'"></svg>',
  '<iframe srcdoc="<script>parent.document.title=1</script>"></iframe>',
  '"\'><b>bold?</b> &amp; &lt;',
].join('\n');

describe('paste web page', () => {
  const lab = new KeyLab();
  const scratch = mkdtempSync(join(tmpdir(), 'labd-chromium-'));
  let labd: InProcessLabd;
  let alice: string;
  let base: string;

  before(async () => {
    const admin = lab.key('admin');
    alice = lab.key('alice');
    labd = await InProcessLabd.start({ adminKeys: [lab.publicKey(admin)] });
    const r = await labd.ssh(admin, ['user', 'add', 'alice', '--role', 'member', '--key', `'${lab.publicKey(alice)}'`]);
    assert.equal(r.status, 0, r.stderr);
    base = `http://127.0.0.1:${labd.httpPort}/p/alice`;
  });
  after(async () => {
    await labd?.stop();
    lab.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('control: this Chromium runs page scripts and --dump-dom shows their effect', async () => {
    const file = join(scratch, 'control.html');
    writeFileSync(file, `<!doctype html><html><head><title>before</title></head><body>${HOSTILE}</body></html>`);
    const dom = await dumpDom(`file://${file}`, scratch);
    assert.match(titleOf(dom) ?? '', /^pwned/);
  });

  for (const name of ['evil.html', 'evil.js', 'evil']) {
    test(`HTML in a paste (${name}) is shown as text and never runs`, async () => {
      const content = name === 'evil.js' ? `const s = "${HOSTILE.replace(/"/g, '\\"').replace(/\n/g, '\\n')}";\nfunction f() { return s; }\n` : HOSTILE + '\n';
      const up = await labd.ssh(alice, ['paste', name], { input: content });
      assert.equal(up.status, 0, up.stderr);

      const res = await get(`${base}/${name}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      const csp = String(res.headers['content-security-policy'] ?? '');
      assert.match(csp, /default-src 'none'/);
      assert.doesNotMatch(csp, /script-src|unsafe/);
      const html = res.body.toString();
      const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
      assert.ok(csp.includes(`'sha256-${createHash('sha256').update(style).digest('base64')}'`), 'the page style is allowed by its hash');

      const dom = await dumpDom(`${base}/${name}`, scratch);
      assert.equal(titleOf(dom), `alice/${name}`);
      assert.doesNotMatch(dom, /<(script|img|svg|iframe)\b/i);
      assert.ok(visibleText(dom).includes(content.trimEnd()), 'the paste is shown exactly as text');
      if (name === 'evil.js') assert.match(dom, /class="hljs-(keyword|string)"/);
      if (name === 'evil') assert.match(dom, /language-plaintext/);
    });
  }

  test('the raw view of an HTML paste is plain text in a sandbox', async () => {
    const res = await get(`${base}/evil.html/raw`);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.match(String(res.headers['content-security-policy'] ?? ''), /sandbox/);
    const dom = await dumpDom(`${base}/evil.html/raw`, scratch);
    assert.doesNotMatch(dom, /<(script|img|svg|iframe)\b/i);
    assert.doesNotMatch(titleOf(dom) ?? '', /pwned/);
  });

  test('the name in the title and header is escaped too', async () => {
    const up = await labd.ssh(alice, ['paste', 'a-b_c.1.md'], { input: '# Title\n\n*text*\n' });
    assert.equal(up.status, 0, up.stderr);
    const dom = await dumpDom(`${base}/a-b_c.1.md`, scratch);
    assert.equal(titleOf(dom), 'alice/a-b_c.1.md');
    assert.match(dom, /class="hljs-section"/);
  });
});
