/**
 * Runs inbox events one after another per sender and side by side across senders: a long command
 * (a drain waiting on a PodDisruptionBudget) holds up only its own sender's later messages, never
 * someone else's `ack` or confirmation. A sender's own events keep their order (ack, then unack).
 */
import type { InboxRow } from './store.ts';

export class SenderQueues {
  private readonly tails = new Map<string, Promise<void>>();
  /** Events handed over and not finished yet, so a second pass over the inbox skips them. */
  private readonly queued = new Set<string>();

  constructor(private readonly run: (row: InboxRow) => Promise<void>) {}

  add(row: InboxRow): void {
    if (this.queued.has(row.eventId)) return;
    this.queued.add(row.eventId);
    const tail = (this.tails.get(row.sender) ?? Promise.resolve())
      .then(() => this.run(row))
      .finally(() => {
        this.queued.delete(row.eventId);
        if (this.tails.get(row.sender) === tail) this.tails.delete(row.sender);
      });
    this.tails.set(row.sender, tail);
  }

  /** Resolves once everything handed over so far has finished. */
  async idle(): Promise<void> {
    while (this.tails.size) await Promise.allSettled([...this.tails.values()]);
  }
}
