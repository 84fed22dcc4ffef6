/** labd's record of seats: name, public key and address (the private key is never stored). */

/** One seat: a person's device that joins the lab as a Kilo WireGuard peer. */
export interface SeatRow {
  name: string;
  publicKey: string;
  /** The seat's IPv4 address in seats.cidr (its Peer allows address/32). */
  address: string;
  createdBy: string;
  createdAt: Date;
  rotatedAt: Date | null;
}

/** The seat store port; SqlSeatStore (sql-store.ts) implements it on SQLite or PostgreSQL. */
export interface SeatStore {
  /** Every seat, by name. */
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
