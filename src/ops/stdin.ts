import type { Readable } from 'node:stream';
import { UsageError } from '../core/errors.ts';
import type { CommandContext } from './context.ts';

/**
 * Reads a stream to its end, refusing more than `limit` bytes. Uses events rather than
 * `for await`, whose iterator destroys the stream (an SSH channel) when it finishes.
 */
export function readLimited(stream: Readable, limit: number, signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const onData = (chunk: Buffer | string) => {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += b.length;
      if (size > limit) {
        cleanup();
        stream.pause();
        reject(new UsageError(`input too large (over ${limit} bytes)`));
        return;
      }
      chunks.push(b);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onAbort = () => {
      cleanup();
      reject(new UsageError('input interrupted'));
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Reads the session's stdin as text, refusing more than `limit` bytes. */
export async function readStdinText(ctx: CommandContext, limit: number): Promise<string> {
  const stdin = ctx.io?.stdin;
  if (!stdin) throw new UsageError('this command reads stdin, which this surface does not have');
  return (await readLimited(stdin, limit, ctx.signal)).toString('utf8');
}
