/** The seat store on SQLite (drizzle): the one implementation of SeatStore today. */
import { asc, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { seats } from '../../db/schema.ts';
import { allocate } from './addresses.ts';
import type { SeatRow, SeatStore } from './store.ts';

export class SqliteSeatStore implements SeatStore {
  constructor(private readonly db: Db) {}

  async list(): Promise<SeatRow[]> {
    return this.db.select().from(seats).orderBy(asc(seats.name)).all();
  }

  async get(name: string): Promise<SeatRow | undefined> {
    return this.db.select().from(seats).where(eq(seats.name, name)).get();
  }

  /**
   * Picks the lowest free address and records the seat in one transaction, so two `seat add`s never get
   * the same address; `alsoTaken` are addresses other peers hold. Undefined when the name exists.
   */
  async reserve(
    seat: { name: string; publicKey: string; createdBy: string; at: Date },
    cidr: string,
    alsoTaken: Iterable<string>,
  ): Promise<SeatRow | undefined> {
    return this.db.transaction((tx) => {
      if (tx.select({ name: seats.name }).from(seats).where(eq(seats.name, seat.name)).get()) return undefined;
      const taken = new Set<string>(alsoTaken);
      for (const row of tx.select({ address: seats.address }).from(seats).all()) taken.add(row.address);
      const address = allocate(cidr, taken);
      return tx.insert(seats).values({ name: seat.name, publicKey: seat.publicKey, address, createdBy: seat.createdBy, createdAt: seat.at }).returning().get();
    });
  }

  async setPublicKey(name: string, publicKey: string, at: Date): Promise<void> {
    this.db.update(seats).set({ publicKey, rotatedAt: at }).where(eq(seats.name, name)).run();
  }

  async remove(name: string): Promise<void> {
    this.db.delete(seats).where(eq(seats.name, name)).run();
  }
}
