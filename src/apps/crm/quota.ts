/**
 * Per-user CRM quotas (crm.quota.cards, crm.quota.bytes) and the largest card (crm.maxCardBytes).
 * A card's size is what it takes as stored: the bytes of its fields, lists as JSON, the photo
 * included. The SQLite store sums the same columns (STORED_BYTES_SQL), so the two agree.
 */
import { Conflict, UsageError } from '../../core/errors.ts';
import type { ContactData } from './model.ts';

export interface CrmQuota {
  /** Cards one user may keep. */
  cards: number;
  /** Bytes one user's cards may take as stored. */
  bytes: number;
}

export interface CrmLimits {
  quota: CrmQuota;
  maxCardBytes: number;
}

/** What one user's address book holds. */
export interface CrmUsage {
  cards: number;
  bytes: number;
}

/** A write past the user's quota: nothing of it was stored (CardDAV 507, SSH exit 1). */
export class QuotaExceeded extends Conflict {}

/** One card larger than crm.maxCardBytes (CardDAV 413, SSH usage error). */
export class CardTooLarge extends UsageError {}

/** A card's size as stored (see STORED_BYTES_SQL). */
export function contactBytes(d: ContactData): number {
  const b = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s));
  return (
    b(d.uid) +
    b(d.displayName) +
    b(JSON.stringify(d.name)) +
    b(JSON.stringify(d.nicknames)) +
    b(JSON.stringify(d.emails)) +
    b(JSON.stringify(d.phones)) +
    b(JSON.stringify(d.addresses)) +
    b(d.birthday) +
    b(d.company) +
    b(d.title) +
    b(d.howMet) +
    b(d.notes) +
    b(d.photo) +
    b(JSON.stringify(d.extra))
  );
}

/** Refuses one card past crm.maxCardBytes. */
export function checkCardSize(d: ContactData, maxCardBytes: number): number {
  const size = contactBytes(d);
  if (size > maxCardBytes)
    throw new CardTooLarge(
      `card '${d.displayName.slice(0, 60)}' is ${size} bytes, more than one card may be (crm.maxCardBytes is ${maxCardBytes}); nothing was stored`,
    );
  return size;
}

/** Refuses a write that takes the user from `used` to `cards`/`bytes` past the quota. */
export function checkQuota(used: CrmUsage, addCards: number, addBytes: number, quota: CrmQuota): void {
  if (addCards > 0 && used.cards + addCards > quota.cards)
    throw new QuotaExceeded(`crm quota: you have ${used.cards} cards, the most one user may keep (crm.quota.cards is ${quota.cards}); nothing was stored`);
  if (addBytes > 0 && used.bytes + addBytes > quota.bytes)
    throw new QuotaExceeded(`crm quota: your cards take ${used.bytes} bytes; ${addBytes} more would pass ${quota.bytes} (crm.quota.bytes); nothing was stored`);
}
