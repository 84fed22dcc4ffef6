/**
 * How many git processes serve clients at once (SSH transports, smart-HTTP info/refs and
 * upload-pack): in all, and per client (a user, or the source address of an anonymous one). 1,000
 * silent anonymous upload-packs held 1,000 git processes before this; over a bound the client is
 * refused at once (SSH: a stderr line and exit status; HTTP: 503 with Retry-After).
 */
import type { Actor } from '../../core/actor.ts';

export class GitProcessLimit {
  private total = 0;
  private readonly perClient = new Map<string, number>();

  constructor(private readonly o: { max: number; perClient: number }) {}

  /** A slot for one process, or undefined over either bound. The release function frees it (once, whatever calls it later). */
  acquire(client: string): (() => void) | undefined {
    const mine = this.perClient.get(client) ?? 0;
    if (this.total >= this.o.max || mine >= this.o.perClient) return undefined;
    this.total++;
    this.perClient.set(client, mine + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.total--;
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
    };
  }

  /** Processes held now. */
  get held(): number {
    return this.total;
  }
}

/** Who a process counts against: the user, or for anonymous clients their address (IPv4-mapped IPv6 as IPv4). */
export function clientKey(actor: Actor): string {
  if (actor.userId !== null) return `user:${actor.userId}`;
  const address = (actor.remoteAddress ?? 'unknown').replace(/^::ffff:/i, '').toLowerCase();
  return `addr:${address}`;
}

/** What a refused client is told, on both transports. */
export const BUSY_MESSAGE = 'too many git processes at once (the server, or yours): try again shortly';
