/**
 * The one table layout (src/core/table-layout.ts) and the surfaces that use it: SSH exec text, the
 * Matrix plain-text body. Display widths come from string-width, so CJK and emoji line up.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import stringWidth from 'string-width';
import { displayWidth, layoutTable, renderLines, textTable, truncate, type LayoutColumn } from '../src/core/table-layout.ts';
import { renderText } from '../src/ssh/render.ts';
import { renderMatrix } from '../src/bot/render.ts';
import type { Result } from '../src/ops/result.ts';

/** The display column where each line's `n`-th cell starts (cells separated by 2+ spaces). */
function starts(lines: string[], n: number): number[] {
  return lines.map((l) => {
    const parts = l.split(/(\s{2,})/);
    let col = 0;
    for (let i = 0; i < n * 2; i++) col += stringWidth(parts[i] ?? '');
    return col;
  });
}

const WIDE: Result = {
  kind: 'table',
  columns: [
    { key: 'name', label: 'NAME' },
    { key: 'owner', label: 'OWNER' },
    { key: 'state', label: 'STATE' },
  ],
  rows: [
    { name: 'plain', owner: 'bob', state: 'ok' },
    { name: '日本語のメモ', owner: '李小龙', state: 'ok' },
    { name: 'party 🎉🎉', owner: 'zoë', state: 'failed' },
  ],
};

describe('one table layout', () => {
  test('CJK and emoji align by display width, in SSH text and the Matrix plain body', () => {
    const ssh = renderText(WIDE).trimEnd().split('\n');
    const matrix = renderMatrix(WIDE).text.split('\n');
    for (const lines of [ssh, matrix]) {
      assert.equal(new Set(starts(lines, 1)).size, 1, `OWNER starts in one column:\n${lines.join('\n')}`);
      assert.equal(new Set(starts(lines, 2)).size, 1, `STATE starts in one column:\n${lines.join('\n')}`);
    }
    // Code points would have said 6 for 日本語のメモ; the terminal shows 12 cells.
    assert.equal(displayWidth('日本語のメモ'), 12);
  });

  test('without a width nothing is cut (scripts get everything)', () => {
    const long = 'x'.repeat(500);
    const lines = textTable([{ label: 'A' }, { label: 'B' }], [['a', long]]);
    assert.ok(lines[1]!.endsWith(long));
  });

  test('columns shrink, then drop, least important first; the first column stays; what is left out is reported', () => {
    const columns: LayoutColumn[] = [
      { label: 'AT', priority: 2 },
      { label: 'WHO', priority: 3 },
      { label: 'ARGS', priority: -1 },
      { label: 'OUTCOME', priority: 4 },
      { label: 'MS' },
    ];
    const row = ['2026-11-30T12:00:00.000Z', 'admin', '{"name":"' + 'n'.repeat(80) + '"}', 'permission_denied', '12'];
    const natural = renderLines(layoutTable(columns, [row]), columns, [row]);
    assert.ok(stringWidth(natural[1]!) > 120);

    // 120 columns: ARGS shrinks (it is least important and widest), OUTCOME stays whole.
    const at120 = layoutTable(columns, [row], { maxWidth: 120 });
    const lines120 = renderLines(at120, columns, [row]);
    assert.ok(lines120.every((l) => stringWidth(l) <= 120));
    assert.match(lines120[1]!, /permission_denied/);
    assert.deepEqual(at120.hidden, []);
    assert.deepEqual(at120.shrunk, [2]);
    assert.match(lines120[1]!, /n…/, 'a cut cell says so');

    // 50 columns: ARGS and MS go (least important), OUTCOME and WHO stay; the caller learns which.
    const at50 = layoutTable(columns, [row], { maxWidth: 50 });
    const lines50 = renderLines(at50, columns, [row]);
    assert.ok(
      lines50.every((l) => stringWidth(l) <= 50),
      lines50.join('\n'),
    );
    assert.deepEqual(
      at50.hidden.map((i) => columns[i]!.label),
      ['ARGS', 'MS'],
    );
    assert.match(lines50[0]!, /^AT\s+WHO\s+OUTCOME$/);

    // Scrolled sideways: the first column stays, the others from the offset's column on, in table order.
    const scrolled = renderLines(layoutTable(columns, [row], { maxWidth: 50, offset: 3 }), columns, [row]);
    assert.match(scrolled[0]!, /^AT\s+OUTCOME\s+MS$/);
    // The first step sideways starts at column 1: a column priority dropped (Roles' KIND) comes into view.
    const roles: LayoutColumn[] = [
      { label: 'ROLE', priority: 3 },
      { label: 'KIND', priority: 1 },
      { label: 'USERS', priority: 2 },
      { label: 'PERMISSIONS', priority: 2 },
    ];
    const role = ['operator', 'built-in', '0', 'ops.read, ops.nodes, ops.deploy, ops.alerts, git.read, paste'];
    const labels = (o: number) => layoutTable(roles, [role], { maxWidth: 40, offset: o }).shown.map((c) => roles[c.index]!.label);
    assert.ok(!labels(0).includes('KIND'));
    assert.deepEqual(labels(1).slice(0, 2), ['ROLE', 'KIND']);
  });

  test('truncation never exceeds the width, even through wide characters', () => {
    for (let w = 1; w < 14; w++) {
      const cut = truncate('日本語のメモ🎉abc', w);
      assert.ok(stringWidth(cut) <= w, `${JSON.stringify(cut)} fits ${w}`);
    }
    assert.equal(truncate('abcdef', 4, '~'), 'abc~');
  });
});
