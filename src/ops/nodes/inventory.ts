/** labd's record of the nodes it provisioned: what to boot for a MAC, and each node's state. */

export type InventoryState = 'provisioned' | 'joined' | 'retired';

/** One node as labd recorded it. */
export interface InventoryRow {
  id: number;
  name: string;
  /** Lower-case, colon-separated, as pixiecore asks for it. */
  mac: string;
  profile: string;
  role: string | null;
  location: string | null;
  tokenId: string;
  /** The join token's secret half, kept only until the node joins or is retired (the boot answer needs it). */
  tokenSecret: string | null;
  state: InventoryState;
  createdBy: string;
  createdAt: Date;
  joinedAt: Date | null;
  retiredAt: Date | null;
}

export type NewInventoryRow = Pick<InventoryRow, 'name' | 'mac' | 'profile' | 'role' | 'location' | 'tokenId' | 'tokenSecret' | 'createdBy'>;

/** The inventory port; SqlNodeInventory (sql-store.ts) implements it on SQLite or PostgreSQL. */
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
