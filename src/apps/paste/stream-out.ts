import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { SessionEnded } from './upload.ts';

/** Rewrites each chunk on its way out (e.g. a terminal sanitiser); `flush` gives what it still held at the end. */
export interface OutputFilter {
  chunk(data: Buffer): string | Buffer;
  flush(): string | Buffer;
}

/** Copies an open file to a writable (an SSH channel) with backpressure; never ends the writable. */
export function copyFdTo(fd: number, out: Writable, signal: AbortSignal, filter?: OutputFilter): Promise<void> {
  return new Promise((resolve, reject) => {
    const file = createReadStream('', { fd, autoClose: true, highWaterMark: 64 * 1024 });
    const detach = () => {
      out.off('drain', onDrain);
      out.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const onDrain = () => file.resume();
    const onError = (err: Error) => {
      detach();
      file.destroy();
      reject(err);
    };
    const onAbort = () => {
      detach();
      file.destroy();
      reject(new SessionEnded('output interrupted'));
    };
    file.on('data', (chunk) => {
      const data = filter ? filter.chunk(chunk as Buffer) : chunk;
      if (data.length && !out.write(data)) file.pause();
    });
    file.once('end', () => {
      detach();
      const rest = filter?.flush();
      if (rest?.length) out.write(rest);
      resolve();
    });
    file.once('error', onError);
    out.on('drain', onDrain);
    out.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}
