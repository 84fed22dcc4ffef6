/**
 * Every registered command's declared result kinds render on every surface it is offered on: text and
 * JSON over SSH, the TUI's widgets, Matrix HTML and plain text. The registry is the real one, built by
 * the composition root; the registry itself refuses a result whose kind a command did not declare.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import blessed from 'blessed';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { startLabd, type Labd } from '../src/app.ts';
import { matrixRenderers } from '../src/bot/render.ts';
import { loadConfig } from '../src/config/load.ts';
import type { Surface } from '../src/core/actor.ts';
import { createLogger } from '../src/core/logger.ts';
import type { AnyCommand, Registry } from '../src/ops/registry.ts';
import { resultJson, type Result, type ResultKind } from '../src/ops/result.ts';
import { textRenderers } from '../src/ssh/render.ts';
import { tuiRenderers } from '../src/ssh/tui/widgets.ts';

type RendererTable = Partial<Record<ResultKind, unknown>>;
const RENDERERS: Record<'ssh' | 'tui' | 'matrix', RendererTable> = { ssh: textRenderers, tui: tuiRenderers, matrix: matrixRenderers };

/** The surfaces a command is offered on that render results (Matrix has no stdin/stdout to stream to). */
function renderingSurfaces(registry: Registry, command: AnyCommand): ('ssh' | 'tui' | 'matrix')[] {
  return (['ssh', 'tui', 'matrix'] as const).filter((s) => registry.offeredOn(command, s as Surface) && !(s === 'matrix' && command.needsIO));
}

/** "command on surface: kind" for every declared kind a surface cannot render. */
function missingRenderers(registry: Registry, tables: Record<string, RendererTable>): string[] {
  const missing: string[] = [];
  for (const command of registry.all()) {
    for (const surface of renderingSurfaces(registry, command)) {
      for (const kind of command.results) if (typeof tables[surface]?.[kind] !== 'function') missing.push(`${command.path.join(' ')} on ${surface}: ${kind}`);
    }
  }
  return missing;
}

const SAMPLES: { [K in ResultKind]: Extract<Result, { kind: K }> } = {
  table: {
    kind: 'table',
    columns: [
      { key: 'name', label: 'NAME' },
      { key: 'state', label: 'STATE' },
    ],
    rows: [{ name: 'nuc1', state: 'Ready' }],
  },
  record: { kind: 'record', title: 'nuc1', fields: [{ label: 'state', value: 'Ready' }], json: { name: 'nuc1' } },
  message: { kind: 'message', text: 'done' },
  help: { kind: 'help', title: 'x', text: 'usage: x', json: {} },
  streamed: { kind: 'streamed' },
};

describe('renderers', () => {
  let labd: Labd;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'labd-renderers-'));
    const config = loadConfig({ LABD_DATA_DIR: dir, LABD_SSH_LISTEN: '127.0.0.1:0', LABD_HTTP_LISTEN: '127.0.0.1:0' });
    labd = await startLabd(config, createLogger('error', new Writable({ write: (_c, _e, cb) => cb() })));
  });
  after(async () => {
    await labd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every command declares what it returns, and each surface it is offered on renders all of it', () => {
    const commands = labd.registry.all();
    assert.ok(commands.length >= 30, `the composition root registers the commands (${commands.length})`);
    for (const c of commands) assert.ok(c.results.length > 0, `${c.path.join(' ')} declares its result kinds`);
    assert.deepEqual(missingRenderers(labd.registry, RENDERERS), []);
  });

  test('the check fails when a surface lacks a renderer for a kind a command returns', () => {
    const { record: _dropped, ...withoutRecord } = matrixRenderers;
    const missing = missingRenderers(labd.registry, { ...RENDERERS, matrix: withoutRecord });
    assert.ok(missing.includes('whoami on matrix: record'), missing.join('\n'));
  });

  test('each declared kind renders to something on each surface', () => {
    const output = new PassThrough();
    output.resume();
    const screen = blessed.screen({ input: new PassThrough() as never, output: output as never, terminal: 'xterm', warnings: false });
    try {
      const parent = blessed.box({ parent: screen, width: 80, height: 20 });
      for (const command of labd.registry.all()) {
        for (const surface of renderingSurfaces(labd.registry, command)) {
          for (const kind of command.results) {
            const sample = SAMPLES[kind] as Result;
            const where = `${command.path.join(' ')} on ${surface} (${kind})`;
            if (surface === 'ssh') {
              const text = (textRenderers[kind] as (r: Result) => string)(sample);
              // A streamed result has already written its output: the renderer adds nothing.
              assert.ok(kind === 'streamed' ? text === '' : text.trim(), where);
              assert.doesNotThrow(() => JSON.stringify(resultJson(sample)), where);
            } else if (surface === 'matrix') {
              const body = (matrixRenderers[kind] as (r: Result) => { text: string; html: string })(sample);
              assert.ok(body.text.trim() && body.html.trim(), where);
            } else {
              const el = (tuiRenderers[kind] as (p: unknown, r: Result, t: unknown) => blessed.Widgets.BlessedElement)(parent, sample, {});
              assert.ok(el, where);
              el.destroy();
            }
          }
        }
      }
    } finally {
      screen.destroy();
    }
  });
});
