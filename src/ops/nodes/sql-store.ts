/** The node inventory on SQLite or PostgreSQL (drizzle, one query set for both). */
import { and, asc, desc, eq, ne } from 'drizzle-orm';
import type { Clock } from '../../core/clock.ts';
import { Conflict } from '../../core/errors.ts';
import type { SqlHandle } from '../../db/sql.ts';
import { isUniqueViolation, lockUntilCommit } from '../../db/sql-guards.ts';
import type { InventoryRow, NewInventoryRow, NodeInventory } from './inventory.ts';

export class SqlNodeInventory implements NodeInventory {
  constructor(
    private readonly h: SqlHandle,
    private readonly clock: Clock,
  ) {}

  private live() {
    return ne(this.h.t.nodeInventory.state, 'retired');
  }

  /** The live (provisioned or joined) record for a node name. */
  async byName(name: string): Promise<InventoryRow | undefined> {
    const { nodeInventory } = this.h.t;
    const [row] = await this.h.run((db) =>
      db
        .select()
        .from(nodeInventory)
        .where(and(eq(nodeInventory.name, name), this.live()))
        .limit(1),
    );
    return row;
  }

  /** What pixiecore may boot: a provisioned node that has not joined yet. */
  async bootable(mac: string): Promise<InventoryRow | undefined> {
    const { nodeInventory } = this.h.t;
    const [row] = await this.h.run((db) =>
      db
        .select()
        .from(nodeInventory)
        .where(and(eq(nodeInventory.mac, mac), eq(nodeInventory.state, 'provisioned')))
        .limit(1),
    );
    return row;
  }

  /** Every record, newest first; retired ones only when asked. */
  async list(includeRetired: boolean): Promise<InventoryRow[]> {
    const { nodeInventory } = this.h.t;
    return this.h.run((db) =>
      db
        .select()
        .from(nodeInventory)
        .where(includeRetired ? undefined : this.live())
        .orderBy(desc(nodeInventory.id)),
    );
  }

  /** Provisioned nodes that have not joined, oldest first. */
  async pending(): Promise<InventoryRow[]> {
    const { nodeInventory } = this.h.t;
    return this.h.run((db) => db.select().from(nodeInventory).where(eq(nodeInventory.state, 'provisioned')).orderBy(asc(nodeInventory.id)));
  }

  /** Refuses a name or MAC another live node holds (the partial unique indexes back this up). */
  async add(row: NewInventoryRow): Promise<InventoryRow> {
    const { nodeInventory } = this.h.t;
    try {
      return await this.h.transaction(async (db) => {
        await lockUntilCommit(this.h, db, 'node_inventory');
        const [clash] = await db
          .select()
          .from(nodeInventory)
          .where(and(this.live(), eq(nodeInventory.mac, row.mac)))
          .limit(1);
        if (clash) throw new Conflict(`MAC ${row.mac} already belongs to node ${clash.name} (${clash.state})`);
        const [named] = await db
          .select()
          .from(nodeInventory)
          .where(and(this.live(), eq(nodeInventory.name, row.name)))
          .limit(1);
        if (named) throw new Conflict(`node ${row.name} is already ${named.state} (MAC ${named.mac}); deprovision it first`);
        const [added] = await db
          .insert(nodeInventory)
          .values({ ...row, createdAt: this.clock.now() })
          .returning();
        return added!;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict(`node ${row.name} or MAC ${row.mac} is already in the inventory; deprovision it first`);
      throw err;
    }
  }

  /** The node joined: its boot answer stops and the token's secret half is forgotten. */
  async markJoined(id: number): Promise<void> {
    const { nodeInventory } = this.h.t;
    await this.h.run((db) =>
      db
        .update(nodeInventory)
        .set({ state: 'joined', joinedAt: this.clock.now(), tokenSecret: null })
        .where(and(eq(nodeInventory.id, id), eq(nodeInventory.state, 'provisioned'))),
    );
  }

  async retire(id: number): Promise<void> {
    const { nodeInventory } = this.h.t;
    await this.h.run((db) =>
      db.update(nodeInventory).set({ state: 'retired', retiredAt: this.clock.now(), tokenSecret: null }).where(eq(nodeInventory.id, id)),
    );
  }

  /** Drops a record whose cluster side could not be created (provision failed half-way). */
  async remove(id: number): Promise<void> {
    const { nodeInventory } = this.h.t;
    await this.h.run((db) => db.delete(nodeInventory).where(eq(nodeInventory.id, id)));
  }
}
