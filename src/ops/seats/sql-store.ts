/** The seat store on SQLite or PostgreSQL (drizzle, one query set for both). */
import { asc, eq } from 'drizzle-orm';
import type { SqlHandle } from '../../db/sql.ts';
import { lockUntilCommit, textOrder } from '../../db/sql-guards.ts';
import { allocate } from './addresses.ts';
import type { SeatRow, SeatStore } from './store.ts';

export class SqlSeatStore implements SeatStore {
  constructor(private readonly h: SqlHandle) {}

  async list(): Promise<SeatRow[]> {
    const { seats } = this.h.t;
    return this.h.run((db) =>
      db
        .select()
        .from(seats)
        .orderBy(asc(textOrder(this.h, seats.name))),
    );
  }

  async get(name: string): Promise<SeatRow | undefined> {
    const { seats } = this.h.t;
    const [row] = await this.h.run((db) => db.select().from(seats).where(eq(seats.name, name)).limit(1));
    return row;
  }

  /**
   * Picks the lowest free address and records the seat in one transaction, under the seats lock, so two
   * `seat add`s never get the same address; `alsoTaken` are addresses other peers hold. Undefined when
   * the name exists.
   */
  async reserve(
    seat: { name: string; publicKey: string; createdBy: string; at: Date },
    cidr: string,
    alsoTaken: Iterable<string>,
  ): Promise<SeatRow | undefined> {
    const { seats } = this.h.t;
    return this.h.transaction(async (db) => {
      await lockUntilCommit(this.h, db, 'seats');
      const [existing] = await db.select({ name: seats.name }).from(seats).where(eq(seats.name, seat.name)).limit(1);
      if (existing) return undefined;
      const taken = new Set<string>(alsoTaken);
      for (const row of await db.select({ address: seats.address }).from(seats)) taken.add(row.address);
      const address = allocate(cidr, taken);
      const [row] = await db
        .insert(seats)
        .values({ name: seat.name, publicKey: seat.publicKey, address, createdBy: seat.createdBy, createdAt: seat.at })
        .returning();
      return row;
    });
  }

  async setPublicKey(name: string, publicKey: string, at: Date): Promise<void> {
    const { seats } = this.h.t;
    await this.h.run((db) => db.update(seats).set({ publicKey, rotatedAt: at }).where(eq(seats.name, name)));
  }

  async remove(name: string): Promise<void> {
    const { seats } = this.h.t;
    await this.h.run((db) => db.delete(seats).where(eq(seats.name, name)));
  }
}
