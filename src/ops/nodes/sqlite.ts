/** The node inventory on SQLite (drizzle): the one implementation of NodeInventory today. */
import { and, desc, eq, ne } from 'drizzle-orm';
import type { Clock } from '../../core/clock.ts';
import { Conflict } from '../../core/errors.ts';
import type { Db } from '../../db/client.ts';
import { nodeInventory } from '../../db/schema.ts';

import type { InventoryRow, NewInventoryRow, NodeInventory } from './inventory.ts';

const live = ne(nodeInventory.state, 'retired');

export class SqliteNodeInventory implements NodeInventory {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** The live (provisioned or joined) record for a node name. */
  async byName(name: string): Promise<InventoryRow | undefined> {
    return this.db
      .select()
      .from(nodeInventory)
      .where(and(eq(nodeInventory.name, name), live))
      .get();
  }

  /** What pixiecore may boot: a provisioned node that has not joined yet. */
  async bootable(mac: string): Promise<InventoryRow | undefined> {
    return this.db
      .select()
      .from(nodeInventory)
      .where(and(eq(nodeInventory.mac, mac), eq(nodeInventory.state, 'provisioned')))
      .get();
  }

  /** Every record, newest first; retired ones only when asked. */
  async list(includeRetired: boolean): Promise<InventoryRow[]> {
    return this.db
      .select()
      .from(nodeInventory)
      .where(includeRetired ? undefined : live)
      .orderBy(desc(nodeInventory.id))
      .all();
  }

  async pending(): Promise<InventoryRow[]> {
    return this.db.select().from(nodeInventory).where(eq(nodeInventory.state, 'provisioned')).all();
  }

  /** Refuses a name or MAC another live node holds (the partial unique indexes back this up). */
  async add(row: NewInventoryRow): Promise<InventoryRow> {
    return this.db.transaction((tx) => {
      const clash = tx
        .select()
        .from(nodeInventory)
        .where(and(live, eq(nodeInventory.mac, row.mac)))
        .get();
      if (clash) throw new Conflict(`MAC ${row.mac} already belongs to node ${clash.name} (${clash.state})`);
      const named = tx
        .select()
        .from(nodeInventory)
        .where(and(live, eq(nodeInventory.name, row.name)))
        .get();
      if (named) throw new Conflict(`node ${row.name} is already ${named.state} (MAC ${named.mac}); deprovision it first`);
      return tx.insert(nodeInventory).values(row).returning().get();
    });
  }

  /** The node joined: its boot answer stops and the token's secret half is forgotten. */
  async markJoined(id: number): Promise<void> {
    this.db
      .update(nodeInventory)
      .set({ state: 'joined', joinedAt: this.clock.now(), tokenSecret: null })
      .where(and(eq(nodeInventory.id, id), eq(nodeInventory.state, 'provisioned')))
      .run();
  }

  async retire(id: number): Promise<void> {
    this.db.update(nodeInventory).set({ state: 'retired', retiredAt: this.clock.now(), tokenSecret: null }).where(eq(nodeInventory.id, id)).run();
  }

  /** Drops a record whose cluster side could not be created (provision failed half-way). */
  async remove(id: number): Promise<void> {
    this.db.delete(nodeInventory).where(eq(nodeInventory.id, id)).run();
  }
}
