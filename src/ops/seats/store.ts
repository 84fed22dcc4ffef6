/** labd's record of seats: name, public key and address (the private key is never stored). */
import type { seats } from '../../db/schema.ts';

export type SeatRow = typeof seats.$inferSelect;

/** The seat store port; SqliteSeatStore (sqlite.ts) implements it. */
export interface SeatStore {
  list(): Promise<SeatRow[]>;
  get(name: string): Promise<SeatRow | undefined>;
  /**
   * Picks the lowest free address and records the seat atomically, so two `seat add`s never get the
   * same address; `alsoTaken` are addresses other peers hold. Undefined when the name exists.
   */
  reserve(seat: { name: string; publicKey: string; createdBy: string; at: Date }, cidr: string, alsoTaken: Iterable<string>): Promise<SeatRow | undefined>;
  setPublicKey(name: string, publicKey: string, at: Date): Promise<void>;
  remove(name: string): Promise<void>;
}
