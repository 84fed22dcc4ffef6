import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import { html, joinHtml, trustedHtml } from '../src/core/html.ts';
import { renderMatrix } from '../src/bot/render.ts';
import { renderPastePage } from '../src/apps/paste/page.ts';
import { createHighlighter } from '../src/core/highlight/index.ts';
import { createLogger } from '../src/core/logger.ts';

describe('html tagged template: escaping is the default', () => {
  test('interpolated values are escaped, fragments and arrays of fragments are kept', () => {
    const name = `<script>alert("x")</script>&'`;
    const out = html`<p title="${name}">${name}</p>${[html`<b>${'a<b'}</b>`, 'c>d']}${null}${undefined}${false}`;
    assert.equal(
      out.value,
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</p><b>a&lt;b</b>c&gt;d',
    );
    assert.equal(joinHtml([html`<i>${'<'}</i>`, trustedHtml('<br>')], ' ').value, '<i>&lt;</i> <br>');
  });

  test('the Matrix renderers and the paste page escape hostile values everywhere', async () => {
    const evil = '<img src=x onerror=alert(1)>';
    const table = renderMatrix({ kind: 'table', columns: [{ key: 'a', label: evil }], rows: [{ a: evil }] });
    const record = renderMatrix({ kind: 'record', title: evil, fields: [{ label: evil, value: evil }], json: {} });
    const message = renderMatrix({ kind: 'message', text: `${evil}\n${evil}` });
    for (const body of [table, record, message]) {
      assert.ok(!body.html.includes('<img'), body.html);
      assert.ok(body.html.includes('&lt;img src=x onerror=alert(1)&gt;'), body.html);
    }
    assert.match(message.html, /&gt;<br>&lt;/);
    const highlighter = createHighlighter({ timeoutMs: 5000, maxBytes: 1024, workers: 1, maxQueue: 4, cacheBytes: 1024 * 1024 }, createLogger('silent'));
    const page = await renderPastePage({
      owner: evil,
      name: `${evil}.txt`,
      size: 5,
      binary: false,
      hidden: false,
      expiresAt: null,
      now: new Date(),
      rawUrl: `/p/"${evil}`,
      head: Buffer.from(evil),
      highlighter,
    });
    await highlighter.close();
    assert.ok(!page.includes('<img'), page);
    assert.ok(page.includes('href="/p/&quot;&lt;img'), 'attribute values escaped');
  });
});
