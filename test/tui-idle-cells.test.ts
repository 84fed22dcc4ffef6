/**
 * An idle TUI screen gives its cell buffers back (src/ssh/tui/idle-cells.ts) and, at the next render,
 * allocates them again and repaints everything: what the client sees is the same as without the release.
 */
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import blessed, { type Widgets } from 'blessed';
import { afterEach, describe, test } from 'vitest';
import { releaseCellsWhenIdle } from '../src/ssh/tui/idle-cells.ts';
import { sharedProgram } from '../src/ssh/tui/terminfo.ts';

interface Cells {
  lines: [number, string][][];
  olines: [number, string][][];
}

/** A screen on stand-in streams; `written` is everything blessed sent to the "client". */
function screenOnStandIns(): { screen: Widgets.Screen; written: () => string; clear: () => void } {
  let out = '';
  const output = Object.assign(
    new Writable({
      write(chunk, _enc, cb) {
        out += String(chunk);
        cb();
      },
    }),
    { isTTY: true, columns: 40, rows: 10 },
  );
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
  const program = sharedProgram({ input, output, term: 'xterm', unicode: true });
  const screen = blessed.screen({ program, smartCSR: true, warnings: false } as Widgets.IScreenOptions);
  return { screen, written: () => out, clear: () => (out = '') };
}

const text = (cells: Cells['lines']) => cells.map((row) => row.map((c) => c[1]).join('')).join('\n');

describe('idle cells', () => {
  const screens: Widgets.Screen[] = [];
  afterEach(() => {
    for (const s of screens.splice(0)) s.destroy();
  });

  test('an idle screen drops its buffers; the next render allocates them again and repaints the whole screen', async () => {
    const { screen, written, clear } = screenOnStandIns();
    screens.push(screen);
    const stop = releaseCellsWhenIdle(screen, 30);
    const box = blessed.box({ parent: screen, top: 1, left: 2, width: 20, height: 1, content: 'hello there' });
    screen.render();
    const cells = screen as unknown as Cells;
    assert.equal(cells.lines.length, 10);
    const before = text(cells.lines);
    assert.match(before, /hello there/);

    await sleep(80);
    assert.equal(cells.lines.length, 0, 'the drawn and the drawing buffer are released');
    assert.equal(cells.olines.length, 0);

    // An unchanged screen rendered again: the whole of it goes out again, after a clear.
    clear();
    screen.render();
    assert.equal(cells.lines.length, 10);
    assert.equal(cells.lines[0]!.length, 40);
    assert.equal(text(cells.lines), before);
    assert.equal(text(cells.olines), before, 'what blessed believes the client shows is what it drew');
    // blessed's program flushes its output buffer on the next tick.
    await sleep(5);
    // A clear, then the text (blessed moves the cursor over the blank between the words).
    assert.match(written(), /\x1b\[2J[\s\S]*hello(\x1b\[1C| )there/);

    // A change after waking is drawn as a change.
    clear();
    box.setContent('changed');
    screen.render();
    await sleep(5);
    assert.match(written(), /changed/);
    assert.doesNotMatch(written(), /\x1b\[2J/, 'no second clear: an awake screen draws differences');

    // Renders keep it awake.
    for (let i = 0; i < 4; i++) {
      await sleep(15);
      screen.render();
    }
    assert.equal(cells.lines.length, 10);
    stop();
    await sleep(80);
    assert.equal(cells.lines.length, 10, 'stopped: the buffers stay');
  });

  test('a resize while asleep allocates at the new size', async () => {
    const { screen } = screenOnStandIns();
    screens.push(screen);
    releaseCellsWhenIdle(screen, 20);
    blessed.box({ parent: screen, top: 0, left: 0, width: 10, height: 1, content: 'x' });
    screen.render();
    await sleep(60);
    const cells = screen as unknown as Cells;
    assert.equal(cells.lines.length, 0);
    const output = (screen as unknown as { program: { output: { columns: number; rows: number; emit(e: string): void } } }).program.output;
    output.columns = 30;
    output.rows = 8;
    output.emit('resize');
    await sleep(10);
    assert.equal(cells.lines.length, 8);
    assert.equal(cells.lines[0]!.length, 30);
  });
  test('a list scrolled while the buffers were gone (blessed moves lines outside render) draws whole again', async () => {
    const { screen, written, clear } = screenOnStandIns();
    screens.push(screen);
    releaseCellsWhenIdle(screen, 20);
    const items = Array.from({ length: 50 }, (_, i) => `item ${i}`);
    const list = blessed.list({ parent: screen, top: 0, left: 0, width: 20, height: 5, items, keys: true });
    list.focus();
    screen.render();
    await sleep(60);
    const cells = screen as unknown as Cells;
    assert.equal(cells.lines.length, 0);
    clear();
    for (let i = 0; i < 8; i++) list.down(1);
    screen.render();
    assert.equal(cells.lines.length, 10);
    assert.equal(cells.olines.length, 10);
    assert.match(text(cells.lines), /item 8/);
    await sleep(5);
    assert.match(written(), /\x1b\[2J[\s\S]*item(\x1b\[1C| )8/);
  });
});
