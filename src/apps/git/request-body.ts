/**
 * A smart-HTTP fetch request body, bounded as it arrives: gzip is inflated as a stream, and every
 * chunk kept is counted against the request's own cap and taken from a budget all requests share
 * before it is kept. 80 anonymous 16 KB gzip bombs (16 MiB each) grew labd by 1.4 GB before this;
 * now what they hold together is the budget, and the ones past it are refused (503).
 */
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** Bytes all requests may hold at once. */
export class ByteBudget {
  private used = 0;
  constructor(readonly max: number) {}

  take(n: number): boolean {
    if (this.used + n > this.max) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }

  get held(): number {
    return this.used;
  }
}

export class RequestTooLarge extends Error {}
export class BudgetExhausted extends Error {}
export class BadBody extends Error {}

/** The body's chunks (inflated when gzip); `release` gives their bytes back to the budget (once). */
export function readFetchBody(source: Readable, o: { gzip: boolean; max: number; budget: ByteBudget }): Promise<{ chunks: Buffer[]; release: () => void }> {
  let taken = 0;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    o.budget.give(taken);
  };
  return new Promise((resolve, reject) => {
    const gunzip = o.gzip ? createGunzip() : undefined;
    const stream: Readable = gunzip ? source.pipe(gunzip) : source;
    const chunks: Buffer[] = [];
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      release();
      stream.off('data', onData);
      if (gunzip) {
        source.unpipe(gunzip);
        gunzip.destroy();
      }
      // The rest of the request is read and dropped (not kept), so the connection can still answer.
      source.resume();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      if (taken + chunk.length > o.max) return fail(new RequestTooLarge());
      if (!o.budget.take(chunk.length)) return fail(new BudgetExhausted());
      taken += chunk.length;
      chunks.push(chunk);
    };
    stream.on('data', onData);
    stream.once('end', () => {
      if (settled) return;
      settled = true;
      resolve({ chunks, release });
    });
    stream.once('error', (err) => fail(new BadBody(err.message)));
    if (gunzip) source.once('error', (err) => fail(new BadBody(err.message)));
    // A client gone mid-body (or cut by the server's request time-out): what it sent leaves the budget.
    source.once('close', () => {
      if (!source.readableEnded) fail(new BadBody('the request ended early'));
    });
  });
}
