import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { SessionEnded } from './upload.ts';

/** Copies an open file to a writable (an SSH channel) with backpressure; never ends the writable. */
export function copyFdTo(fd: number, out: Writable, signal: AbortSignal): Promise<void> {
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
      if (!out.write(chunk)) file.pause();
    });
    file.once('end', () => {
      detach();
      resolve();
    });
    file.once('error', onError);
    out.on('drain', onDrain);
    out.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}
