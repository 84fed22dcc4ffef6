/**
 * A multistatus answer streamed out as it is made: a sync of a 100,000-card book built one 222 MB
 * string before this. Parts are gathered into chunks of about CHUNK_CHARS; the stream is pulled by
 * the socket (Readable.from stops asking while the client is slow), and the event loop gets a turn
 * every YIELD_EVERY parts, so other requests are answered while a big book goes out.
 */
import { Readable } from 'node:stream';
import type { RouteResponse } from '../../ops/http.ts';

const CHUNK_CHARS = 64 * 1024;
const YIELD_EVERY = 100;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** `head`, every part `parts` yields, then `tail()` (asked at the end: it may depend on the parts). */
export function streamedXml(status: number, head: string, parts: AsyncIterable<string>, tail: () => string): RouteResponse {
  async function* chunks(): AsyncGenerator<string> {
    let buffered = head;
    let n = 0;
    for await (const part of parts) {
      buffered += part;
      if (buffered.length >= CHUNK_CHARS) {
        yield buffered;
        buffered = '';
      }
      if (++n % YIELD_EVERY === 0) await turn();
    }
    yield buffered + tail();
  }
  return {
    status,
    headers: { 'content-type': 'application/xml; charset=utf-8' },
    body: Readable.from(chunks(), { objectMode: false, highWaterMark: CHUNK_CHARS }),
  };
}
