import assert from 'node:assert/strict';
import blessed from 'blessed';
import { test } from 'vitest';
import { markdownForTerminal } from '../src/ssh/tui/markdown.ts';

// blessed's helpers are not in its type definitions.
const { stripTags } = (blessed as unknown as { helpers: { stripTags(s: string): string } }).helpers;

/** What the pane shows: blessed's own tag parser turns the markup into attributes; we keep the text. */
function shown(tagged: string): string {
  return stripTags(tagged.replace(/\{open\}/g, '\u0001').replace(/\{close\}/g, '\u0002'))
    .replace(/\u0001/g, '{')
    .replace(/\u0002/g, '}');
}

test('a README renders for the terminal: headings, emphasis, lists, code, quotes, links, tables', () => {
  const src = [
    '# dotfiles',
    '',
    'My **config** and _notes_, see [the docs](https://example.org/docs).',
    '',
    '- one',
    '- two',
    '  1. nested',
    '',
    '```sh',
    'make install',
    '```',
    '',
    '> quoted',
    '',
    '| name | 値 |',
    '| --- | --- |',
    '| 東京 | x |',
  ].join('\n');
  const tagged = markdownForTerminal(src);
  assert.match(tagged, /^\{bold\}\{underline\}dotfiles\{\/underline\}\{\/bold\}$/m);
  assert.match(tagged, /\{bold\}config\{\/bold\} and \{underline\}notes\{\/underline\}/);
  const text = shown(tagged);
  assert.match(text, /see the docs <https:\/\/example\.org\/docs>\./);
  assert.match(text, /^• one$/m);
  assert.match(text, /^• two$/m);
  assert.match(text, /^ {2}1\. nested$/m);
  assert.match(text, /^sh\n {4}make install$/m);
  assert.match(text, /^│ quoted$/m);
  // CJK cells are two columns wide: the columns line up by display width.
  assert.match(text, /^name {2}値\n─{4} {2}─{2}\n東京 {2}x$/m);
  assert.doesNotMatch(text, /[#*`]/);
});

test('README text cannot restyle the screen: tag braces, escape sequences and HTML stay literal', () => {
  const tagged = markdownForTerminal('Hello {red-fg}{bold}boom{/bold} \u001b[2J\u001b]52;c;AAAA\u0007 <script>alert(1)</script>\n\n<b>html</b>');
  assert.doesNotMatch(tagged, /\{red-fg\}/);
  assert.doesNotMatch(tagged, /\u001b|\u0007/);
  const text = shown(tagged);
  assert.match(text, /\{red-fg\}\{bold\}boom\{\/bold\}/);
  assert.match(text, /<script>alert\(1\)<\/script>/);
  assert.match(text, /<b>html<\/b>/);
});
