/**
 * The CRM store's port. Every method takes the owner's user id first and touches that owner's rows
 * only: each user's CRM is their own, whoever asks (admins included). The implementation, on SQLite
 * or PostgreSQL, is sql-store.ts.
 */
import { Conflict } from '../../core/errors.ts';
import type { Contact, ContactData, Interaction, InteractionKind } from './model.ts';
import type { CrmQuota, CrmUsage } from './quota.ts';
import type { CsvShape } from './csv.ts';

export interface ContactSummary {
  id: number;
  uid: string;
  displayName: string;
  emails: string[];
  phones: string[];
  company?: string;
  tags: string[];
  birthday?: string;
  stayInTouchDays?: number;
  lastContactedAt: Date | null;
  createdAt: Date;
}

export interface SearchOptions {
  /** Free text: every word must match (prefix, case- and accent-insensitive); name matches first, each group by name. */
  query?: string;
  tag?: string;
  limit?: number;
}

/** A change in the address book since a sync token: contacts changed (current) or removed (hrefs). */
export interface Changes {
  rev: number;
  changed: Contact[];
  removed: string[];
}

/** Where a paged sync stands: every change up to revision `rev`, and within it up to `seq`, was sent. */
export interface ChangeCursor {
  rev: number;
  seq: number;
}

/** One change in (rev, seq) order: a contact (id) as it is now, or a removed card (href). */
export interface ChangeEntry {
  rev: number;
  seq: number;
  id: number | null;
  href: string | null;
}

export interface CrmStore {
  /** Runs `fn`'s store calls in one transaction (all stored, or none). */
  batch<T>(fn: () => Promise<T>): Promise<T>;
  /** With `quota`, refuses (QuotaExceeded) a card past the owner's quota, checked in the same transaction. */
  create(ownerId: number, data: ContactData, href?: string, quota?: CrmQuota): Promise<Contact>;
  /** create without reading the contact back: its id (an import needs no more). */
  insert(ownerId: number, data: ContactData, href?: string, quota?: CrmQuota): Promise<number>;
  /**
   * Replaces a contact's data (the caller merges); rejects a UID already taken by another contact.
   * With `ifRev`, writes only if the contact is still at that revision (else StaleWrite). With
   * `quota`, refuses (QuotaExceeded) growing the card past the owner's bytes quota.
   */
  update(ownerId: number, id: number, data: ContactData, ifRev?: number, quota?: CrmQuota): Promise<Contact>;
  /** Cards the owner keeps and the bytes they take as stored (quota.ts). */
  usage(ownerId: number): Promise<CrmUsage>;
  get(ownerId: number, id: number): Promise<Contact | undefined>;
  getByUid(ownerId: number, uid: string): Promise<Contact | undefined>;
  getByHref(ownerId: number, href: string): Promise<Contact | undefined>;
  /** Contacts whose display name is exactly this (case-insensitive), for `crm show NAME`. */
  findByName(ownerId: number, name: string): Promise<ContactSummary[]>;
  search(ownerId: number, opts: SearchOptions): Promise<ContactSummary[]>;
  /** Contacts with a birthday or a stay-in-touch interval (the candidates for `crm due`). */
  withReminders(ownerId: number): Promise<ContactSummary[]>;
  /** Ids of the owner's contacts holding one of these emails (lower case) or phones (E.164 or digits). */
  findByHandles(ownerId: number, emails: string[], phones: string[]): Promise<number[]>;
  /** With `ifRev`, removes only if the contact is still at that revision (else StaleWrite). */
  remove(ownerId: number, id: number, ifRev?: number): Promise<boolean>;
  addInteraction(ownerId: number, id: number, kind: InteractionKind | 'note', at: Date, note: string): Promise<Interaction>;
  interactions(ownerId: number, id: number, limit: number): Promise<Interaction[]>;
  /** Links both ways (relation from id to other, and its inverse back). */
  link(ownerId: number, id: number, otherId: number, relation: string, inverse: string): Promise<void>;
  unlink(ownerId: number, id: number, otherId: number): Promise<number>;
  all(ownerId: number): Promise<Contact[]>;
  /** Ids of the owner's contacts above `afterId`, in order, at most `limit`: a book read a page at a time. */
  pageIds(ownerId: number, afterId: number, limit: number): Promise<number[]>;
  /** Changes after the cursor in (rev, seq) order, at most `limit`; removals only `withRemoved`. */
  changePage(ownerId: number, after: ChangeCursor, limit: number, withRemoved: boolean): Promise<ChangeEntry[]>;
  count(ownerId: number): Promise<number>;
  /** The most emails, phones and addresses one of the owner's contacts has (the CSV export's columns). */
  csvShape(ownerId: number): Promise<CsvShape>;
  /** Owners with birthdays or stay-in-touch contacts who have not had the reminder of `day` (YYYY-MM-DD), with where it goes. */
  unreminded(day: string): Promise<({ ownerId: number; name: string } & ReminderSettings)[]>;
  reminderSettings(ownerId: number): Promise<ReminderSettings>;
  setReminderSettings(ownerId: number, settings: ReminderSettings): Promise<void>;
  /** Notes that the owner's reminder of `day` went out. */
  markReminded(ownerId: number, day: string): Promise<void>;
  /** The address book's current revision (CardDAV sync token). */
  revision(ownerId: number): Promise<number>;
  changesSince(ownerId: number, rev: number): Promise<Changes>;
}

export const REMINDER_CHANNELS = ['auto', 'matrix', 'apprise', 'off'] as const;
export type ReminderVia = (typeof REMINDER_CHANNELS)[number];

/** Where one owner's daily reminder goes: `auto` is every channel labd has for them; `room` replaces the direct chat. */
export interface ReminderSettings {
  via: ReminderVia;
  room: string | null;
}

/** A conditional write whose contact changed meanwhile (CardDAV If-Match: 412, nothing written). */
export class StaleWrite extends Conflict {}
