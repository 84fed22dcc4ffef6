/**
 * The PostgreSQL tables: the same tables, columns and names as the SQLite schema (`schema.ts`), so one
 * drizzle store serves both engines. Times are timestamptz (ms), flags boolean, JSON columns jsonb.
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import type { Role } from '../core/permissions.ts';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow();

export const users = pgTable('users', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  name: text('name').notNull().unique(),
  /** A built-in role (admin, operator, member, guest) or a custom one (`role create`). */
  role: text('role').$type<Role>().notNull(),
  createdAt: createdAt(),
  /** Set by `user disable`: the account keeps its keys and data but logs in no more, and its connections close. */
  disabledAt: timestamp('disabled_at', { withTimezone: true, mode: 'date', precision: 3 }),
});

/** Plain public keys registered to a user (`keys add`) or from LABD_INITIAL_ADMIN_KEYS. */
export const sshKeys = pgTable(
  'ssh_keys',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull().unique(),
    algo: text('algo').notNull(),
    publicKey: text('public_key').notNull(),
    comment: text('comment').notNull().default(''),
    /** user: `keys add`; config: LABD_INITIAL_ADMIN_KEYS; oidc: linked by a device-flow login until expiresAt. */
    source: text('source', { enum: ['user', 'config', 'oidc'] })
      .notNull()
      .default('user'),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date', precision: 3 }),
    /** A linked key (source oidc) logs in until then; null: for good. */
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date', precision: 3 }),
    /** The ID token claims the link was made on (issuer, sub, email, preferred_username, groups). */
    claims: jsonb('claims').$type<{ issuer: string; sub: string; email?: string; preferredUsername?: string; groups: string[] }>(),
  },
  (t) => [index('ssh_keys_user_idx').on(t.userId)],
);

/** External identities linked to a user: certificate principals, OIDC subjects. */
export const identities = pgTable(
  'identities',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    subject: text('subject').notNull(),
    createdAt: createdAt(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'date', precision: 3 }),
  },
  (t) => [uniqueIndex('identities_provider_subject').on(t.provider, t.subject), index('identities_user_idx').on(t.userId)],
);

export const audit = pgTable(
  'audit',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    at: timestamp('at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    actor: text('actor').notNull(),
    userId: integer('user_id'),
    via: text('via').notNull(),
    credential: text('credential'),
    remoteAddress: text('remote_address'),
    command: text('command').notNull(),
    args: text('args').notNull(),
    outcome: text('outcome').notNull(),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
  },
  (t) => [index('audit_at_idx').on(t.at)],
);

/** Pastes (`paste`): metadata here, bytes in DATA_DIR/pastes/blobs/<blob>. */
export const pastes = pgTable(
  'pastes',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** File name of the bytes under pastes/blobs; a new one per upload, so a replace is one row update. */
    blob: text('blob').notNull().unique(),
    size: bigint('size', { mode: 'number' }).notNull(),
    /** Not valid UTF-8 or holds NUL bytes: served as application/octet-stream. */
    binary: boolean('binary').notNull(),
    hidden: boolean('hidden').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date', precision: 3 }),
  },
  (t) => [uniqueIndex('pastes_user_name').on(t.userId, t.name), index('pastes_expires_idx').on(t.expiresAt)],
);

/** Alertmanager alert groups (one per webhook groupKey), with the current acknowledgement. */
export const alertGroups = pgTable(
  'alert_groups',
  {
    /** The short id `alerts` shows and `ack`/`unack` take. */
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    groupKey: text('group_key').notNull().unique(),
    receiver: text('receiver').notNull(),
    status: text('status', { enum: ['firing', 'resolved'] }).notNull(),
    groupLabels: jsonb('group_labels').$type<Record<string, string>>().notNull(),
    commonLabels: jsonb('common_labels').$type<Record<string, string>>().notNull(),
    commonAnnotations: jsonb('common_annotations').$type<Record<string, string>>().notNull(),
    externalUrl: text('external_url').notNull().default(''),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    /** Last time the group's state changed (not merely re-sent). */
    changedAt: timestamp('changed_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    /** Start of the current firing episode. */
    firingSince: timestamp('firing_since', { withTimezone: true, mode: 'date', precision: 3 }),
    resolvedAt: timestamp('resolved_at', { withTimezone: true, mode: 'date', precision: 3 }),
    ackedBy: text('acked_by'),
    ackedByUserId: integer('acked_by_user_id'),
    ackedAt: timestamp('acked_at', { withTimezone: true, mode: 'date', precision: 3 }),
    ackUntil: timestamp('ack_until', { withTimezone: true, mode: 'date', precision: 3 }),
    ackComment: text('ack_comment'),
    /** Set for an `ack` without a duration: its silences are extended while the group fires, up to this time. */
    ackHoldUntil: timestamp('ack_hold_until', { withTimezone: true, mode: 'date', precision: 3 }),
  },
  (t) => [index('alert_groups_status_idx').on(t.status)],
);

/** The alerts of a group, by fingerprint, in their latest known state. */
export const alerts = pgTable(
  'alerts',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    groupId: integer('group_id')
      .notNull()
      .references(() => alertGroups.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    status: text('status', { enum: ['firing', 'resolved'] }).notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    annotations: jsonb('annotations').$type<Record<string, string>>().notNull(),
    startsAt: timestamp('starts_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true, mode: 'date', precision: 3 }),
    generatorUrl: text('generator_url').notNull().default(''),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
  },
  (t) => [uniqueIndex('alerts_group_fingerprint').on(t.groupId, t.fingerprint)],
);

/**
 * State history of each alert. The unique key is Alertmanager's dedupe key (groupKey, fingerprint,
 * status, startsAt): a re-sent group or an HA duplicate adds nothing.
 */
export const alertTransitions = pgTable(
  'alert_transitions',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    groupId: integer('group_id')
      .notNull()
      .references(() => alertGroups.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    status: text('status', { enum: ['firing', 'resolved'] }).notNull(),
    startsAt: timestamp('starts_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    /** webhook, or poll (resolution seen by polling while silenced). */
    source: text('source', { enum: ['webhook', 'poll'] }).notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
  },
  (t) => [uniqueIndex('alert_transitions_dedupe').on(t.groupId, t.fingerprint, t.status, t.startsAt)],
);

/** Silences labd created to acknowledge a group: one per alert, exact matchers on all its labels. */
export const alertSilences = pgTable(
  'alert_silences',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    groupId: integer('group_id')
      .notNull()
      .references(() => alertGroups.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    silenceId: text('silence_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    /** Set once labd expired it (unack, resolution) or its time ran out. */
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date', precision: 3 }),
  },
  (t) => [index('alert_silences_group_idx').on(t.groupId), uniqueIndex('alert_silences_silence_id').on(t.silenceId)],
);

/** What happened to each acknowledgement: given, extended while held, taken back, ran out, ended by resolution. */
export const alertAckHistory = pgTable(
  'alert_ack_history',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    groupId: integer('group_id')
      .notNull()
      .references(() => alertGroups.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['acknowledged', 'extended', 'unacknowledged', 'ran-out', 'resolved'] }).notNull(),
    by: text('by').notNull(),
    /** The acknowledgement's end after this step. */
    until: timestamp('until', { withTimezone: true, mode: 'date', precision: 3 }),
    at: timestamp('at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
  },
  (t) => [index('alert_ack_history_group_idx').on(t.groupId)],
);

/**
 * Escalation notifications sent outside Matrix (Apprise): one row per group, firing episode and
 * channel, so a restart or a retry never notifies twice for the same escalation.
 */
export const alertEscalations = pgTable(
  'alert_escalations',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    groupId: integer('group_id')
      .notNull()
      .references(() => alertGroups.id, { onDelete: 'cascade' }),
    /** The firingSince (ms) of the episode that escalated. */
    episode: bigint('episode', { mode: 'number' }).notNull(),
    channel: text('channel', { enum: ['apprise'] }).notNull(),
    state: text('state', { enum: ['pending', 'sent', 'dropped'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    lastError: text('last_error'),
    sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date', precision: 3 }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('alert_escalations_once').on(t.groupId, t.episode, t.channel), index('alert_escalations_state_idx').on(t.state)],
);

/** Ops events (node joined, deploy finished or failed), in order; the id is the event's identity for announcers. */
export const opsEvents = pgTable('ops_events', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  kind: text('kind').notNull(),
  data: jsonb('data').$type<Record<string, unknown>>().notNull(),
  at: timestamp('at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
});

/**
 * Matrix events the bot accepted, by event id: the durable inbox and the record that a command
 * ran, so neither a restart nor a replayed sync runs a command twice.
 */
export const matrixEvents = pgTable(
  'matrix_events',
  {
    eventId: text('event_id').primaryKey(),
    roomId: text('room_id').notNull(),
    sender: text('sender').notNull(),
    /** The event as received (JSON). */
    event: text('event').notNull(),
    originServerTs: bigint('origin_server_ts', { mode: 'number' }).notNull(),
    /** pending: not handled yet; running: a command started (never re-run); done: handled. */
    state: text('state', { enum: ['pending', 'running', 'done'] }).notNull(),
    /** The command words run for this event, if any. */
    command: text('command'),
    receivedAt: createdAt(),
  },
  (t) => [index('matrix_events_state_idx').on(t.state)],
);

/** Messages the bot sends, delivered in order, each with a fixed transaction id so retries are idempotent. */
export const matrixOutbox = pgTable(
  'matrix_outbox',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    txnId: text('txn_id').notNull().unique(),
    roomId: text('room_id').notNull(),
    eventType: text('event_type').notNull(),
    content: text('content').notNull(),
    state: text('state', { enum: ['pending', 'sent', 'failed'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    /** The homeserver's id for the sent event. */
    eventId: text('event_id'),
    lastError: text('last_error'),
    createdAt: createdAt(),
    sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date', precision: 3 }),
  },
  (t) => [index('matrix_outbox_state_idx').on(t.state, t.id), index('matrix_outbox_event_idx').on(t.eventId)],
);

/** Destructive commands waiting for their sender to confirm (✅ on the bot's question, or `!lab confirm CODE`). */
export const matrixConfirmations = pgTable('matrix_confirmations', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  roomId: text('room_id').notNull(),
  sender: text('sender').notNull(),
  /** The argv to run once confirmed (JSON array). */
  argv: text('argv').notNull(),
  requestEventId: text('request_event_id').notNull(),
  /** The outbox row of the question; the reply must point at its event. */
  promptTxnId: text('prompt_txn_id').notNull().unique(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
  state: text('state', { enum: ['pending', 'confirmed', 'expired'] })
    .notNull()
    .default('pending'),
  /** The short random code the asker may send as `!lab confirm CODE` (instead of reacting ✅). */
  code: text('code'),
});

/** Matrix user ids their owner linked to a labd user (`!lab link`, confirmed over SSH with `link CODE`). */
export const matrixLinks = pgTable(
  'matrix_links',
  {
    mxid: text('mxid').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [index('matrix_links_user_idx').on(t.userId)],
);

/** One-time codes `!lab link` hands out: only their SHA-256 is kept; used once, before they expire. */
export const matrixLinkCodes = pgTable('matrix_link_codes', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  codeHash: text('code_hash').notNull().unique(),
  mxid: text('mxid').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true, mode: 'date', precision: 3 }),
  createdAt: createdAt(),
});

/** Small bot state: the sync token (saved only once a batch is in the inbox) and when the bot first started. */
export const matrixState = pgTable('matrix_state', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

/**
 * The alerts room's message for each alert group: its post (and the event id once delivered), the
 * last queued edit, what it last showed (so an unchanged group is not edited), and whether this
 * firing episode has escalated (read by the escalation timer, so it survives restarts).
 */
export const matrixAlertMessages = pgTable('matrix_alert_messages', {
  groupId: integer('group_id').primaryKey(),
  roomId: text('room_id').notNull(),
  postTxnId: text('post_txn_id').notNull().unique(),
  /** The homeserver's id for the post, once delivered. */
  eventId: text('event_id'),
  /** Edits queued so far; each has its own fixed transaction id. */
  revision: integer('revision').notNull().default(0),
  /** The outbox row holding the newest content (the post or the last edit). */
  lastTxnId: text('last_txn_id').notNull(),
  /** Hash of the newest queued content. */
  renderedHash: text('rendered_hash').notNull(),
  /** The firingSince (ms) of the episode that escalated; null: not escalated. */
  escalatedFor: bigint('escalated_for', { mode: 'number' }),
  createdAt: createdAt(),
});

/**
 * Nodes labd provisioned (`node provision`): what pixiecore is told to boot for a MAC until the Node joins.
 * The join token's secret half is kept only until the node joins or is retired (the boot answer needs it).
 */
export const nodeInventory = pgTable(
  'node_inventory',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    name: text('name').notNull(),
    /** Lower-case, colon-separated, as pixiecore asks for it. */
    mac: text('mac').notNull(),
    profile: text('profile').notNull(),
    role: text('role'),
    location: text('location'),
    tokenId: text('token_id').notNull(),
    tokenSecret: text('token_secret'),
    state: text('state', { enum: ['provisioned', 'joined', 'retired'] })
      .notNull()
      .default('provisioned'),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    joinedAt: timestamp('joined_at', { withTimezone: true, mode: 'date', precision: 3 }),
    retiredAt: timestamp('retired_at', { withTimezone: true, mode: 'date', precision: 3 }),
  },
  (t) => [
    uniqueIndex('node_inventory_live_name_idx')
      .on(t.name)
      .where(sql`state <> 'retired'`),
    uniqueIndex('node_inventory_live_mac_idx')
      .on(t.mac)
      .where(sql`state <> 'retired'`),
  ],
);

/** Seats: people's devices that join the lab as Kilo WireGuard peers. The private key is never stored. */
export const seats = pgTable('seats', {
  name: text('name').primaryKey(),
  publicKey: text('public_key').notNull(),
  /** The seat's IPv4 address in seats.cidr (its Peer allows address/32). */
  address: text('address').notNull().unique(),
  createdBy: text('created_by').notNull(),
  createdAt: createdAt(),
  rotatedAt: timestamp('rotated_at', { withTimezone: true, mode: 'date', precision: 3 }),
});

/** Git repositories' metadata (the bare repositories live under <dataDir>/repos/NAME.git). */
export const gitRepos = pgTable('git_repos', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  /** Normalized: no leading '/', no '.git' suffix, e.g. dotfiles or tools/cli. */
  name: text('name').notNull().unique(),
  projectName: text('project_name').notNull().default(''),
  description: text('description').notNull().default(''),
  private: boolean('private').notNull().default(false),
  hidden: boolean('hidden').notNull().default(false),
  /** Pull mirror source (`repo import --mirror`): such a repository refuses pushes. */
  mirrorUrl: text('mirror_url'),
  createdBy: integer('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date', precision: 3 }),
});

/** Per-repository access granted to a user (soft-serve's collaborators). */
export const gitCollaborators = pgTable(
  'git_collaborators',
  {
    repoId: integer('repo_id')
      .notNull()
      .references(() => gitRepos.id, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    level: text('level', { enum: ['no-access', 'read-only', 'read-write', 'admin'] }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('git_collaborators_repo_user').on(t.repoId, t.userId), index('git_collaborators_user_idx').on(t.userId)],
);

/**
 * The personal CRM (src/apps/crm). Every row carries its owner: each user's CRM is their own, and
 * every query of the CRM store filters on owner_id (admins included). On PostgreSQL the search
 * index is columns of crm_contacts that only the custom migration 0001_crm_search declares, not this
 * file (search_names, search_phones, search_other, written by the store in the contact's transaction,
 * and the GIN-indexed tsvectors generated from them: names_tsv, phones_tsv, all_tsv); it also makes
 * sort_name `collate "C"` (byte order, as SQLite's) and gives crm_tombstones a `seq` column (SQLite's
 * rowid). See src/apps/crm/sql-search-postgres.ts.
 */
export const crmContacts = pgTable(
  'crm_contacts',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The vCard UID: stable across import, export and CardDAV. */
    uid: text('uid').notNull(),
    displayName: text('display_name').notNull(),
    /** sortKey(displayName) (src/core/sort-key.ts): the book's order, accents and case aside. */
    sortName: text('sort_name').notNull().default(''),
    /** Structured name parts as JSON: { given, family, middle, prefix, suffix }. */
    nameParts: text('name_parts').notNull().default('{}'),
    nicknames: text('nicknames').notNull().default('[]'),
    emails: text('emails').notNull().default('[]'),
    phones: text('phones').notNull().default('[]'),
    addresses: text('addresses').notNull().default('[]'),
    /** YYYY-MM-DD, or --MM-DD when the year is unknown. */
    birthday: text('birthday'),
    company: text('company'),
    title: text('title'),
    howMet: text('how_met'),
    notes: text('notes'),
    stayInTouchDays: integer('stay_in_touch_days'),
    /** The vCard photo as a URI (data: or http), bytes kept as they came. */
    photo: text('photo'),
    /** vCard properties labd does not model, as jCard JSON, so export gives back what import took. */
    extra: text('extra').notNull().default('[]'),
    lastContactedAt: timestamp('last_contacted_at', { withTimezone: true, mode: 'date', precision: 3 }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    /** The owner's address-book revision of the last change (CardDAV ETag and sync token). */
    rev: integer('rev').notNull(),
    /** The CardDAV resource name when a client chose one (PUT /dav/…/NAME.vcf), else UID.vcf. */
    href: text('href'),
  },
  (t) => [
    uniqueIndex('crm_contacts_owner_uid').on(t.ownerId, t.uid),
    uniqueIndex('crm_contacts_owner_href').on(t.ownerId, t.href),
    index('crm_contacts_owner_rev').on(t.ownerId, t.rev),
    // The book in name order: listing and broad searches walk it instead of sorting every contact.
    index('crm_contacts_owner_sort').on(t.ownerId, t.sortName, t.id),
  ],
);

/** Emails and phones of contacts, one row each, for merging duplicates (by owner). */
export const crmHandles = pgTable(
  'crm_handles',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    contactId: integer('contact_id')
      .notNull()
      .references(() => crmContacts.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['email', 'phone'] }).notNull(),
    /** Lower-case email, or E.164 phone (digits when it does not parse). */
    value: text('value').notNull(),
  },
  (t) => [index('crm_handles_owner_value').on(t.ownerId, t.kind, t.value), index('crm_handles_contact').on(t.contactId)],
);

export const crmTags = pgTable(
  'crm_tags',
  {
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    contactId: integer('contact_id')
      .notNull()
      .references(() => crmContacts.id, { onDelete: 'cascade' }),
    tag: text('tag').notNull(),
  },
  (t) => [uniqueIndex('crm_tags_contact_tag').on(t.contactId, t.tag), index('crm_tags_owner_tag').on(t.ownerId, t.tag)],
);

/** Links between contacts; each link is stored in both directions (partner ↔ partner, child ↔ parent). */
export const crmLinks = pgTable(
  'crm_links',
  {
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    contactId: integer('contact_id')
      .notNull()
      .references(() => crmContacts.id, { onDelete: 'cascade' }),
    otherId: integer('other_id')
      .notNull()
      .references(() => crmContacts.id, { onDelete: 'cascade' }),
    relation: text('relation').notNull(),
  },
  (t) => [
    uniqueIndex('crm_links_pair').on(t.contactId, t.otherId, t.relation),
    index('crm_links_owner').on(t.ownerId),
    // Deleting a contact cascades to the links pointing at it: without this, a scan of every link.
    index('crm_links_other').on(t.otherId),
  ],
);

/** What happened with a contact: met, called, messaged, wrote (set last contacted), or a dated note. */
export const crmInteractions = pgTable(
  'crm_interactions',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    contactId: integer('contact_id')
      .notNull()
      .references(() => crmContacts.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['met', 'called', 'messaged', 'wrote', 'note'] }).notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    note: text('note').notNull().default(''),
    createdAt: createdAt(),
  },
  (t) => [index('crm_interactions_contact').on(t.contactId, t.at), index('crm_interactions_owner').on(t.ownerId)],
);

/** Each owner's address-book revision: bumped by every change, the CardDAV sync token. */
export const crmBooks = pgTable('crm_books', {
  ownerId: integer('owner_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  rev: integer('rev').notNull().default(0),
  /** The UTC day (YYYY-MM-DD) the owner's daily reminder last went out: once per day, across restarts. */
  remindedOn: text('reminded_on'),
  /** Where the owner's daily reminder goes: auto (every channel labd has for them), matrix, apprise, or off. */
  remindVia: text('remind_via').notNull().default('auto'),
  /** A Matrix room the owner chose for the reminder instead of a direct chat with the bot. */
  remindRoom: text('remind_room'),
});

/** Contacts removed, kept so that CardDAV sync-collection can report them as gone. */
export const crmTombstones = pgTable(
  'crm_tombstones',
  {
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    href: text('href').notNull(),
    rev: integer('rev').notNull(),
  },
  (t) => [uniqueIndex('crm_tombstones_owner_href').on(t.ownerId, t.href), index('crm_tombstones_owner_rev').on(t.ownerId, t.rev)],
);

/** App tokens (`token create --scope carddav`): for clients that cannot do SSH. Only a hash is kept. */
export const appTokens = pgTable(
  'app_tokens',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    scope: text('scope', { enum: ['carddav', 'git'] }).notNull(),
    /** SHA-256 of the secret, hex. The token is 32 random bytes: a fast hash is enough. */
    hash: text('hash').notNull().unique(),
    createdAt: createdAt(),
    /** When the token stops working (null: never). */
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date', precision: 3 }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date', precision: 3 }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date', precision: 3 }),
  },
  (t) => [uniqueIndex('app_tokens_user_name').on(t.userId, t.name)],
);

/** Roles admins made at run time (`role create`); the built-in roles are not stored here. */
export const customRoles = pgTable('custom_roles', {
  name: text('name').primaryKey(),
  description: text('description').notNull().default(''),
  createdAt: createdAt(),
});

/** Run-time changes to the role → permission table (`role grant` / `role revoke`) over the seed from modules and config. */
export const roleGrants = pgTable(
  'role_grants',
  {
    role: text('role').notNull(),
    permission: text('permission').notNull(),
    effect: text('effect', { enum: ['grant', 'revoke'] }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.role, t.permission] })],
);

/** Permissions granted or denied to one user (`user grant` / `user deny`); deny beats every allow. */
export const userGrants = pgTable(
  'user_grants',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    permission: text('permission').notNull(),
    effect: text('effect', { enum: ['allow', 'deny'] }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.permission] })],
);

/** Invite codes (`invite create`): only the code's SHA-256 is kept; `join CODE` uses one. */
export const invites = pgTable('invites', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  codeHash: text('code_hash').notNull().unique(),
  role: text('role').$type<Role>().notNull(),
  usesLeft: integer('uses_left').notNull(),
  maxUses: integer('max_uses').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date', precision: 3 }),
  createdBy: integer('created_by').references(() => users.id, { onDelete: 'set null' }),
  note: text('note').notNull().default(''),
  createdAt: createdAt(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date', precision: 3 }),
});

/**
 * Who used an invite (`join CODE`), one row per account it created, written in the transaction that
 * creates the account. The name and key fingerprint are copied so `invite ls` still says who joined
 * after the account is removed.
 */
export const inviteUses = pgTable(
  'invite_uses',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    inviteId: integer('invite_id')
      .notNull()
      .references(() => invites.id, { onDelete: 'cascade' }),
    userId: integer('user_id').references(() => users.id, { onDelete: 'set null' }),
    userName: text('user_name').notNull(),
    fingerprint: text('fingerprint').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
  },
  (t) => [index('invite_uses_invite').on(t.inviteId)],
);

/**
 * Wrong invite codes (`join CODE`), one row per wrong try and counter (`key:SHA256:…`, `addr:1.2.3.4`):
 * the guessing bound holds across restarts. Rows older than the window are pruned as new ones come.
 */
export const inviteWrongCodes = pgTable(
  'invite_wrong_codes',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    counter: text('counter').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
  },
  (t) => [index('invite_wrong_codes_counter_at').on(t.counter, t.at)],
);
