/** labd's record of the nodes it provisioned: what to boot for a MAC, and each node's state. */
import type { nodeInventory } from '../../db/schema.ts';

export type InventoryRow = typeof nodeInventory.$inferSelect;
export type NewInventoryRow = Pick<InventoryRow, 'name' | 'mac' | 'profile' | 'role' | 'location' | 'tokenId' | 'tokenSecret' | 'createdBy'>;

/** The inventory port; SqliteNodeInventory (sqlite.ts) implements it. */
export interface NodeInventory {
  /** The live (provisioned or joined) record for a node name. */
  byName(name: string): Promise<InventoryRow | undefined>;
  /** What pixiecore may boot: a provisioned node that has not joined yet. */
  bootable(mac: string): Promise<InventoryRow | undefined>;
  /** Every record, newest first; retired ones only when asked. */
  list(includeRetired: boolean): Promise<InventoryRow[]>;
  pending(): Promise<InventoryRow[]>;
  /** Refuses (Conflict) a name or MAC another live node holds, atomically. */
  add(row: NewInventoryRow): Promise<InventoryRow>;
  /** The node joined: its boot answer stops and the token's secret half is forgotten. */
  markJoined(id: number): Promise<void>;
  retire(id: number): Promise<void>;
  /** Drops a record whose cluster side could not be created (provision failed half-way). */
  remove(id: number): Promise<void>;
}
