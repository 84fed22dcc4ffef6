/** Reads the SSH wire encoding (RFC 4251 §5): uint32, uint64, string, mpint. */
export class WireError extends Error {}

export class WireReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  get offset(): number {
    return this.pos;
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }

  uint32(): number {
    if (this.pos + 4 > this.buf.length) throw new WireError('truncated uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint64(): bigint {
    if (this.pos + 8 > this.buf.length) throw new WireError('truncated uint64');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(): Buffer {
    const len = this.uint32();
    if (this.pos + len > this.buf.length) throw new WireError('truncated string');
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  /** A string that must be valid UTF-8. */
  text(): string {
    const raw = this.bytes();
    const text = raw.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(raw)) throw new WireError('string is not valid UTF-8');
    return text;
  }

  end(): void {
    if (!this.done) throw new WireError('trailing bytes');
  }
}

export function writeString(parts: Buffer[], value: Buffer | string): void {
  const b = typeof value === 'string' ? Buffer.from(value) : value;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  parts.push(len, b);
}
