import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

const createdAt = () => integer('created_at', { mode: 'timestamp_ms' }).notNull().default(sql`(unixepoch('subsec') * 1000)`);

export const users = sqliteTable('users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  role: text('role', { enum: ['admin', 'operator', 'member', 'guest'] }).notNull(),
  createdAt: createdAt(),
});

/** Plain public keys registered to a user (`keys add`) or from LABD_INITIAL_ADMIN_KEYS. */
export const sshKeys = sqliteTable(
  'ssh_keys',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull().unique(),
    algo: text('algo').notNull(),
    publicKey: text('public_key').notNull(),
    comment: text('comment').notNull().default(''),
    source: text('source', { enum: ['user', 'config'] }).notNull().default('user'),
    createdAt: createdAt(),
    lastUsedAt: integer('last_used_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('ssh_keys_user_idx').on(t.userId)],
);

/** External identities linked to a user: certificate principals, OIDC subjects. */
export const identities = sqliteTable(
  'identities',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    subject: text('subject').notNull(),
    createdAt: createdAt(),
    lastSeenAt: integer('last_seen_at', { mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('identities_provider_subject').on(t.provider, t.subject), index('identities_user_idx').on(t.userId)],
);

export const audit = sqliteTable(
  'audit',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
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
export const pastes = sqliteTable(
  'pastes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** File name of the bytes under pastes/blobs; a new one per upload, so a replace is one row update. */
    blob: text('blob').notNull().unique(),
    size: integer('size').notNull(),
    /** Not valid UTF-8 or holds NUL bytes: served as application/octet-stream. */
    binary: integer('binary', { mode: 'boolean' }).notNull(),
    hidden: integer('hidden', { mode: 'boolean' }).notNull(),
    createdAt: createdAt(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('pastes_user_name').on(t.userId, t.name), index('pastes_expires_idx').on(t.expiresAt)],
);
