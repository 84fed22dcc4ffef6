import { createWriteStream, rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { LabdError, UsageError } from '../../core/errors.ts';

export interface Upload {
  size: number;
  /** Not valid UTF-8, or holds NUL bytes. */
  binary: boolean;
}

/** The SSH session ended under a running transfer (client gone). */
export class SessionEnded extends LabdError {}

/**
 * Streams `input` into the file at `path` (created exclusively), refusing more than `limit` bytes.
 * Event-driven with pause/resume for backpressure: `for await` would destroy the SSH channel.
 * On any failure the file is removed; on success the caller owns it.
 */
export function receiveToFile(
  input: Readable,
  path: string,
  limit: number,
  signal: AbortSignal,
  tooLarge: () => Error = () => new UsageError(`paste too large: the limit is ${limit} bytes (nothing was stored)`),
): Promise<Upload> {
  return new Promise((resolve, reject) => {
    const file = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    let size = 0;
    let binary = false;
    let settled = false;

    const detach = () => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      file.off('drain', onDrain);
      signal.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      detach();
      input.pause();
      file.destroy();
      file.once('close', () => {
        rmSync(path, { force: true });
        reject(err);
      });
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += bytes.length;
      if (size > limit) return fail(tooLarge());
      if (!binary) {
        try {
          utf8.decode(bytes, { stream: true });
          binary = bytes.includes(0);
        } catch {
          binary = true;
        }
      }
      if (!file.write(bytes)) input.pause();
    };
    const onDrain = () => {
      if (!settled) input.resume();
    };
    const onEnd = () => {
      // An SSH channel also ends when the connection drops; the session's abort follows in the
      // same tick, so decide one turn later whether this was a real end-of-file.
      setImmediate(() => {
        if (signal.aborted) return fail(new SessionEnded('upload interrupted (nothing was stored)'));
        if (!binary) {
          try {
            utf8.decode();
          } catch {
            binary = true;
          }
        }
        settled = true;
        detach();
        file.end((err?: Error | null) => {
          if (!err) return resolve({ size, binary });
          rmSync(path, { force: true });
          reject(err);
        });
      });
    };
    const onError = (err: Error) => fail(err);
    const onAbort = () => fail(new SessionEnded('upload interrupted (nothing was stored)'));

    file.once('error', (err) => fail(err));
    file.on('drain', onDrain);
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}
