/** Writable outputs for broker tests: one that takes everything at once, one that stalls until released. */
import { Writable } from 'node:stream';

/** An output that takes everything at once. */
export function collector(): { out: Writable; data: () => Buffer } {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _e, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { out, data: () => Buffer.concat(chunks) };
}

/** An output that takes nothing until released (a client that stopped reading, then reads again). */
export function stalled(): { out: Writable; release: () => void } {
  const waiting: (() => void)[] = [];
  let released = false;
  const out = new Writable({
    highWaterMark: 1,
    write(_chunk, _e, done) {
      if (released) done();
      else waiting.push(() => done());
    },
  });
  return {
    out,
    release: () => {
      released = true;
      for (const w of waiting.splice(0)) w();
    },
  };
}
