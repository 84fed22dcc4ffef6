/** Reads an HTTP response body from a network peer up to `limit` bytes; more (declared or sent) is refused unread. */
export async function readBodyLimited(res: Response, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > limit) {
    await res.body?.cancel();
    throw new Error(`${what} is too large (${declared} bytes)`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel();
        throw new Error(`${what} is too large (over ${limit} bytes)`);
      }
      chunks.push(value);
    }
  }
  return Buffer.concat(chunks);
}
