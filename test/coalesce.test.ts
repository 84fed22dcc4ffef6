import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { describe, test } from 'vitest';
import { pipeCoalesced } from '../src/core/coalesce.ts';

/** A target that records each write's size and can hold its callbacks back (a full SSH window). */
function target(o: { highWaterMark?: number } = {}) {
  const writes: Buffer[] = [];
  let held: (() => void)[] | undefined;
  const w = new Writable({
    highWaterMark: o.highWaterMark ?? 16 * 1024,
    // Like an SSH channel: a write it completes at once is copied (into its packet) before the
    // callback; a held one keeps the very buffer until released.
    write(chunk: Buffer, _enc, cb) {
      if (held) {
        writes.push(chunk);
        held.push(cb);
      } else {
        writes.push(Buffer.from(chunk));
        cb();
      }
    },
  });
  return {
    w,
    writes,
    hold: () => (held = []),
    release: () => {
      const cbs = held ?? [];
      held = undefined;
      for (const cb of cbs) cb();
    },
  };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('pipeCoalesced (git output in whole SSH packets)', () => {
  test('whole packets leave as soon as they are there, the rest on the next turn; bytes and order kept', async () => {
    const source = new PassThrough();
    const t = target();
    pipeCoalesced(source, t.w, 1024);
    const data = randomBytes(10_000);
    // A 5-byte header, then data in uneven pieces, as git's side band writes them.
    for (const [from, to] of [
      [0, 5],
      [5, 3000],
      [3000, 3001],
      [3001, 8000],
      [8000, 10_000],
    ] as const)
      source.write(data.subarray(from, to));
    await turn();
    await turn();
    const sizes = t.writes.map((w) => w.length);
    assert.ok(
      sizes.slice(0, -1).every((n) => n % 1024 === 0),
      `whole packets first: ${sizes}`,
    );
    assert.equal(sizes.at(-1), 10_000 % 1024, `the rest last: ${sizes}`);
    assert.ok(Buffer.concat(t.writes).equals(data));
  });

  test('a lone small message (git negotiation) is not held back past the next turn', async () => {
    const source = new PassThrough();
    const t = target();
    pipeCoalesced(source, t.w, 1024);
    source.write(Buffer.from('0008NAK\n'));
    await turn();
    await turn();
    assert.equal(Buffer.concat(t.writes).toString(), '0008NAK\n');
  });

  test('what is pending when the source ends is written; the target is not ended', async () => {
    const source = new PassThrough();
    const t = target();
    pipeCoalesced(source, t.w, 1024);
    source.end(Buffer.from('tail'));
    await new Promise((r) => source.once('end', r));
    assert.equal(Buffer.concat(t.writes).toString(), 'tail');
    assert.equal(t.w.writableEnded, false);
  });

  test('a buffer the target still holds is never written into again', async () => {
    const source = new PassThrough();
    const t = target({ highWaterMark: 64 * 1024 });
    pipeCoalesced(source, t.w, 1024);
    t.hold();
    const data = randomBytes(8 * 1024);
    for (let at = 0; at < data.length; at += 700) source.write(data.subarray(at, at + 700));
    await turn();
    await turn();
    t.release();
    await turn();
    // Each held write kept its own bytes: the copy into the next packet went to a fresh buffer.
    assert.ok(Buffer.concat(t.writes).equals(data));
  });

  test('a full target pauses the source until it drains', async () => {
    const source = new PassThrough();
    const t = target({ highWaterMark: 1024 });
    pipeCoalesced(source, t.w, 1024);
    t.hold();
    source.write(randomBytes(4096));
    await turn();
    assert.equal(source.isPaused(), true);
    t.release();
    await turn();
    assert.equal(source.isPaused(), false);
  });
});
