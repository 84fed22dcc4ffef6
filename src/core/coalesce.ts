/**
 * Pipes a stream into another in chunks of whole packets. git upload-pack writes its pack in pieces of
 * 4–32 KiB (a 5-byte side-band header, then the data, as pack-objects hands it over), and each piece
 * piped as it came became an SSH packet of its own: 5,300 packets for a 51 MB clone where sshd, which
 * fills its packets from a channel buffer, sent 1,600. Here pieces are copied into a packet-sized
 * buffer: a full one leaves at once, a partial one on the next turn of the event loop (setImmediate)
 * unless more came. The buffer is used again when the target took the write synchronously (an SSH
 * channel with window copies it into its packet at once), else a new one is started, so no bytes
 * are overwritten while the target still holds them. Back-pressure is the target's: the source
 * pauses while the target's buffer is full.
 */
import type { Readable, Writable } from 'node:stream';

/** The largest payload of an SSH channel packet OpenSSH accepts (its advertised maximum packet size). */
export const SSH_PACKET_PAYLOAD = 32 * 1024;

/** Like `source.pipe(target, { end: false })`, in writes of `packet` bytes but the last of a burst. */
export function pipeCoalesced(source: Readable, target: Writable, packet = SSH_PACKET_PAYLOAD): void {
  let staging = Buffer.allocUnsafeSlow(packet);
  let filled = 0;
  let scheduled: NodeJS.Immediate | undefined;

  const flush = () => {
    if (!filled) return;
    const full = filled === packet;
    const ok = target.write(full ? staging : staging.subarray(0, filled));
    // Taken synchronously (nothing left in the target's buffer): the bytes are copied, reuse the buffer.
    if (target.writableLength === 0) filled = 0;
    else {
      staging = Buffer.allocUnsafeSlow(packet);
      filled = 0;
    }
    if (!ok) {
      source.pause();
      target.once('drain', () => source.resume());
    }
  };
  const flushLater = () => {
    scheduled = undefined;
    flush();
  };
  const flushNow = () => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    flush();
  };

  source.on('data', (chunk: Buffer) => {
    for (let at = 0; at < chunk.length;) {
      const n = chunk.copy(staging, filled, at, Math.min(chunk.length, at + packet - filled));
      filled += n;
      at += n;
      if (filled === packet) flush();
    }
    if (filled && !scheduled) scheduled = setImmediate(flushLater);
  });
  source.once('end', flushNow);
  source.once('close', flushNow);
}
