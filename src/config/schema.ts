import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { ROLES } from '../core/permissions.ts';
import { SIGNUP_POLICIES } from '../core/signup.ts';

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, 'expected HOST:PORT, e.g. 127.0.0.1:2222')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be 0-65535');

/** A duration from config, parsed once: its length, and the text as written (for messages that quote it). */
export interface Duration {
  readonly seconds: number;
  readonly ms: number;
  readonly text: string;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** "90s", "15m", "1h30m" → a Duration; a bad value is one issue on its key (the loader names key and variable). */
const duration = z
  .string()
  .trim()
  .regex(/^(\d+[smhdw])+$/, 'expected a duration like 30s, 15m, 2h or 7d')
  .transform((text, ctx): Duration => {
    let seconds = 0;
    for (const m of text.matchAll(/(\d+)([smhdw])/g)) seconds += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    if (!Number.isSafeInteger(seconds * 1000) || seconds <= 0) {
      ctx.addIssue({ code: 'custom', message: seconds <= 0 ? 'must be longer than 0s' : 'too long' });
      return z.NEVER;
    }
    return { seconds, ms: seconds * 1000, text };
  });
/** Node runs a timer longer than 2^31-1 ms (24.8 days) after 1 ms, so a longer wait would spin, not wait. */
const MAX_TIMER_SECONDS = 24 * 86400;
/** A duration that times a timer (an interval, a time-out, a retry): at most 24 days. */
const timerDuration = duration.refine((d) => d.seconds <= MAX_TIMER_SECONDS, 'at most 24d (a longer timer would fire at once)');
/** Bytes a pub/sub subscriber may fall behind the fastest one: room for a few SSH windows of scheduling jitter. */
const PUBSUB_SUBSCRIBER_BUFFER = 8 * 1024 * 1024;
/** Per-user paste quota: enough for years of notes and logs, not for filling the disk. */
const PASTE_QUOTA_BYTES = 256 * 1024 * 1024;
const PASTE_QUOTA_COUNT = 1000;
/**
 * Per-user CRM quota: a big real address book is a few thousand cards with small photos (well under
 * 100 MiB); an attack run put forty 4 MiB cards (+320 MiB) into the database in 9 s.
 */
const CRM_QUOTA_CARDS = 50_000;
const CRM_QUOTA_BYTES = 256 * 1024 * 1024;
/** One card as stored, photo included: a phone's contact photo is tens of KiB. */
const CRM_MAX_CARD_BYTES = 1024 * 1024;
/** Responses one CardDAV sync-collection page carries at most (RFC 6578 §3.6 truncation past it). */
const CRM_SYNC_PAGE_SIZE = 1000;
const PUBSUB_MAX_TOPICS_PER_USER = 16;
/** App tokens one user may hold: a phone, a laptop, a few CI jobs, with room; not a table to fill. */
const TOKENS_MAX_PER_USER = 20;
/** Per-user git quota (repositories a user created, and their size on disk together), and the most one push may send. */
const GIT_QUOTA_REPOS = 50;
const GIT_QUOTA_BYTES = 1024 ** 3;
const GIT_MAX_PUSH_BYTES = 256 * 1024 * 1024;
/** All subscribers' queues together: 32 subscribers at their full 8 MiB. */
const PUBSUB_MAX_BUFFERED = 256 * 1024 * 1024;
const role = z.enum(ROLES);
/** A permission's name (`git.read`, a new service's `wiki`): which exist is what the modules declare, checked at start. */
const permissionName = z.string().regex(/^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/, 'expected a permission name such as git.read');

const alertmanagerEnabled = z.strictObject({
  enabled: z.literal(true),
  /** Base URL of the Alertmanager API, e.g. http://alertmanager:9093. */
  url: z.url({ protocol: /^https?$/, error: 'expected the http(s) URL of Alertmanager' }),
  /** Bearer token Alertmanager sends to POST /hooks/alertmanager (its http_config.authorization.credentials). */
  webhookToken: z.string().min(16, 'use a random token of at least 16 characters'),
  /** Time-out of each request to the Alertmanager API. */
  requestTimeout: timerDuration.prefault('5s'),
  /** How often acknowledged groups are checked for resolution and expired acks (silenced alerts send no resolved notification). */
  pollInterval: timerDuration.prefault('1m'),
  /** `ack` without --for holds while the group fires (as kthxbye): silences this long, extended before they end... */
  ackHoldStep: duration.prefault('15m'),
  /** ...up to this long after the acknowledgement. */
  ackHoldMax: duration.prefault('24h'),
  /** A firing group nobody acknowledged for this long escalates: a mention of matrix.escalateTo in the alerts room, and Apprise if set. */
  escalateAfter: duration.prefault('15m'),
  /** Apprise API notify endpoint for escalations, e.g. http://apprise:8000/notify/labd; unset: none. */
  appriseUrl: z.url({ protocol: /^https?$/, error: 'expected the http(s) URL of an Apprise API notify endpoint' }).optional(),
  /** Time-out of each Apprise request. */
  appriseTimeout: timerDuration.prefault('10s'),
  /** Wait before retrying an escalation Apprise did not take; it doubles with each failure, up to 5 minutes. */
  appriseRetry: timerDuration.prefault('2s'),
  /** Longest `ack --for` accepted. */
  maxAckDuration: duration.prefault('7d'),
  /** Largest webhook body accepted. */
  webhookMaxBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(4 * 1024 * 1024),
});
/** `enabled` may be left out when other keys are given (e.g. only LABD_ALERTMANAGER_URL set): it then means true. */
const alertmanagerSchema = z.preprocess(
  (v) => (v && typeof v === 'object' && !Array.isArray(v) && !('enabled' in v) && Object.keys(v).length ? { enabled: true, ...v } : v),
  z.discriminatedUnion('enabled', [z.strictObject({ enabled: z.literal(false) }), alertmanagerEnabled]),
);
export type AlertmanagerConfig = z.infer<typeof alertmanagerEnabled>;

/** The bot's token comes from `accessToken` or from the file `accessTokenFile` (trimmed), never both. */
type WithToken<M> = M extends { enabled: true } ? M & { accessToken: string } : M;
function readAccessToken<M extends { enabled: false } | { enabled: true; accessToken?: string; accessTokenFile?: string }>(
  m: M,
  ctx: z.RefinementCtx,
): WithToken<M> {
  if (!m.enabled) return m as WithToken<M>;
  if (m.accessToken && m.accessTokenFile) {
    ctx.addIssue({ code: 'custom', path: ['accessTokenFile'], message: 'set either the access token or the file holding it, not both' });
    return z.NEVER;
  }
  if (m.accessTokenFile) {
    let token: string;
    try {
      token = readFileSync(m.accessTokenFile, 'utf8').trim();
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        path: ['accessTokenFile'],
        message: `cannot read ${m.accessTokenFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      });
      return z.NEVER;
    }
    if (!token) {
      ctx.addIssue({ code: 'custom', path: ['accessTokenFile'], message: `${m.accessTokenFile} is empty` });
      return z.NEVER;
    }
    return { ...m, accessToken: token } as WithToken<M>;
  }
  if (!m.accessToken) {
    ctx.addIssue({
      code: 'custom',
      path: ['accessToken'],
      message: "required: the bot user's access token (or matrix.accessTokenFile / LABD_MATRIX_ACCESS_TOKEN_FILE)",
    });
    return z.NEVER;
  }
  return m as WithToken<M>;
}

const matrixUserId = z.string().regex(/^@[^:\s]+:[^\s]+$/, 'expected a Matrix user ID like @alice:example.org');
const matrixSchema = z
  .preprocess(
    // Setting any bot key (e.g. LABD_MATRIX_HOMESERVER) without `enabled` turns the bot on, so a missing key is reported.
    (v) => (v && typeof v === 'object' && !Array.isArray(v) && !('enabled' in v) && Object.keys(v).length ? { enabled: true, ...v } : v),
    z.discriminatedUnion('enabled', [
      z.strictObject({ enabled: z.literal(false) }),
      z.strictObject({
        enabled: z.literal(true),
        homeserverUrl: z.url({ protocol: /^https?$/, error: 'expected the homeserver URL, e.g. https://matrix.example.org' }),
        /** The bot user's access token, or a file holding it (`accessTokenFile`, e.g. a mounted Secret): exactly one of the two. */
        accessToken: z.string().min(1, "required: the bot user's access token").optional(),
        accessTokenFile: z.string().min(1).optional(),
        /** Room IDs (!id:server) or aliases (#name:server) the bot joins and serves; invites elsewhere are ignored. */
        rooms: z
          .array(z.string().regex(/^[!#][^:\s]+:[^\s]+$/, 'expected a room ID (!id:server) or alias (#name:server)'), {
            error: 'required: the rooms the bot serves',
          })
          .min(1, 'name at least one room'),
        /** Matrix user → labd user name; other Matrix users are refused. */
        userMap: z.record(matrixUserId, z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a labd user name')).default({}),
        commandPrefix: z.string().min(1).max(20).regex(/^\S+$/, 'no spaces').default('!lab'),
        /** Where alert groups are posted (one message each); unset: no alert messages. */
        alertsRoom: z
          .string()
          .regex(/^[!#][^:\s]+:[^\s]+$/, 'expected a room ID (!id:server) or alias (#name:server)')
          .optional(),
        /** Where ops events (node joined, deploy finished or failed) are announced; unset: the alerts room. */
        eventsRoom: z
          .string()
          .regex(/^[!#][^:\s]+:[^\s]+$/, 'expected a room ID (!id:server) or alias (#name:server)')
          .optional(),
        /** Mentioned (notified) by a firing alert's message. */
        oncall: z.array(matrixUserId).default([]),
        /** Mentioned in one follow-up when a firing group escalates (alertmanager.escalateAfter); empty: no mention. */
        escalateTo: z.array(matrixUserId).default([]),
        /** How long a destructive command waits for its asker's ✅ or `confirm CODE`. */
        confirmWindow: duration.prefault('60s'),
      }),
    ]),
  )
  .transform(readAccessToken)
  .default({ enabled: false });
export type MatrixConfig = Extract<z.infer<typeof matrixSchema>, { enabled: true }>;

const bootProfile = z.strictObject({
  /** Kernel URL (http(s):// or file:/// on the pixiecore host). */
  kernel: z.string().min(1),
  initrd: z.array(z.string().min(1)).default([]),
  /** Kernel command line; {hostname}, {token}, {server} and {mac} are filled in per node. */
  cmdline: z.string().default(''),
});
const cidr = z.string().refine((v) => {
  const [ip, bits, extra] = v.split('/');
  const family = isIP(ip ?? '');
  return family !== 0 && extra === undefined && /^\d{1,3}$/.test(bits ?? '') && Number(bits) <= (family === 4 ? 32 : 128);
}, 'expected a CIDR, e.g. 10.4.0.0/16');
const nodesDefaults = {
  tokenTtl: '24h',
  defaultProfile: 'default',
  profiles: {},
  joinPollInterval: '10s',
  evictRetryInterval: '5s',
  bootAllow: [],
  bootUnknownPerMinute: 30,
};
const nodesSchema = z
  .strictObject({
    /** The API server URL joining nodes use ({server} in a cmdline), e.g. https://10.0.0.1:6443. */
    server: z.string().min(1).optional(),
    /** Lifetime of a bootstrap token made by `node provision`. */
    tokenTtl: duration.prefault('24h'),
    defaultProfile: z.string().min(1).default('default'),
    profiles: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected a profile name'), bootProfile).default({}),
    /** How often provisioned nodes are looked for in the cluster. */
    joinPollInterval: timerDuration.prefault('10s'),
    /** Wait between eviction attempts a PodDisruptionBudget refused (kubectl: 5s). */
    evictRetryInterval: timerDuration.prefault('5s'),
    /**
     * Where pixiecore's API (`GET /v1/boot/MAC`) listens: an address on the lab's private network, never the
     * public HTTP listener, because the answer carries a node join token. Unset: no boot API at all.
     */
    bootListen: listen.optional(),
    /** Source CIDRs allowed to ask the boot API (e.g. pixiecore's host); empty: any that reaches bootListen. */
    bootAllow: z.array(cidr).default([]),
    /** Unknown-MAC answers per source address per minute; past it the boot API answers 429 (MACs can be guessed). */
    bootUnknownPerMinute: z.number().int().min(1).max(100000).default(30),
  })
  .prefault(nodesDefaults);
/** WireGuard keys are base64 of 32 raw bytes. */
const wireguardKey = z.string().regex(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/, 'expected a WireGuard key (base64 of 32 bytes, as `wg pubkey` prints)');
const seatsSchema = z.strictObject({
  /** Seat addresses come from here (IPv4, /8 to /30); the network, first and broadcast addresses are never given out. Kilo's own --subnet defaults to 10.4.0.0/16. */
  cidr: cidr
    .refine((v) => isIP(v.split('/')[0]!) === 4 && Number(v.split('/')[1]) >= 8 && Number(v.split('/')[1]) <= 30, 'expected an IPv4 CIDR from /8 to /30')
    .default('10.5.0.0/24'),
  /** host:port a seat's device connects to (a Kilo node's public endpoint); `seat add` needs it. */
  endpoint: z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, 'expected HOST:PORT, e.g. lab.example.net:51820')
    .optional(),
  /** The WireGuard public key of the node at the endpoint (its kilo.squat.ai/key annotation); `seat add` needs it. */
  serverPublicKey: wireguardKey.optional(),
  /** What a seat routes through the tunnel. */
  allowedIPs: z.array(cidr).min(1).default(['10.4.0.0/16']),
  /** DNS servers written into the seat's config (none: the device keeps its own). */
  dns: z.array(z.string().refine((v) => isIP(v) !== 0, 'expected an IP address')).default([]),
  /** Seconds between keepalives from the seat (both ends), so NAT on a phone's network stays open; 0: off. */
  persistentKeepalive: z.number().int().min(0).max(65535).default(25),
});

/**
 * OIDC device-flow login for keys labd does not know (issue #14): the IdP confirms who holds the key,
 * labd links the key to that account for keyLifetime. Setting any key (e.g. LABD_OIDC_ISSUER) turns it on.
 */
const oidcSchema = z.preprocess(
  (v) => (v && typeof v === 'object' && !Array.isArray(v) && !('enabled' in v) && Object.keys(v).length ? { enabled: true, ...v } : v),
  z.discriminatedUnion('enabled', [
    z.strictObject({ enabled: z.literal(false) }),
    z.strictObject({
      enabled: z.literal(true),
      /** The issuer URL; its discovery document must name a device_authorization_endpoint. */
      issuer: z.url({ protocol: /^https?$/, error: 'expected the issuer URL, e.g. https://sso.example.net/realms/lab' }),
      clientId: z.string().min(1),
      /** Confidential clients only; a public client (token_endpoint_auth_method none) leaves it out. */
      clientSecret: z.string().min(1).optional(),
      scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'expected a scope token')).default(['openid', 'email', 'profile']),
      /** How long a key linked by a device-flow login logs in (like step-ca's 16 h certificates). */
      keyLifetime: duration.prefault('16h'),
      /** IdP groups (the ID token's `groups` claim) that grant a role, e.g. { lab-admins: admin }. */
      groupRoles: z.record(z.string().min(1), role).default({}),
      /** Device flows waiting for the IdP at once: all together, and from one source address. */
      maxFlows: z.number().int().min(1).max(10_000).default(20),
      maxFlowsPerSource: z.number().int().min(1).max(1000).default(3),
      /** The longest labd waits for one code, whatever the IdP's expires_in says. */
      maxCodeLifetime: duration.prefault('15m'),
      /** Allows an http:// issuer (tests, a lab IdP on a private network); off: https only. */
      allowHttp: z.boolean().default(false),
    }),
  ]),
);
export type OidcConfig = Extract<z.infer<typeof oidcSchema>, { enabled: true }>;

export const configSchema = z
  .object({
    dataDir: z.string().min(1).default('./data'),
    /**
     * Where labd keeps its tables: unset, SQLite in the data dir (one process); a postgres:// URL,
     * PostgreSQL (TLS as node-postgres takes it: `?sslmode=require`, `sslrootcert=…`), which
     * several replicas can share.
     */
    database: z
      .strictObject({
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, { error: 'expected a postgres:// or postgresql:// URL' })
          .optional(),
        /** Connections each labd process keeps open at most (two are held: the leader's lock, the change feed). */
        poolSize: z.number().int().min(3, { error: 'at least 3: the leader lock and the change feed each keep one connection' }).max(200).default(10),
      })
      .prefault({}),
    publicUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
    log: z
      .strictObject({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        /** json: for machines; pretty: readable lines; auto: pretty when stdout is a terminal. */
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
      })
      .prefault({}),
    ssh: z
      .strictObject({
        listen: listen.default('127.0.0.1:2222'),
        /** Seconds a client has to authenticate before it is disconnected. */
        authTimeout: timerDuration.prefault('30s'),
        /** Publickey / keyboard-interactive attempts allowed per connection (as sshd's MaxAuthTries). */
        maxAuthTries: z.number().int().min(1).max(100).default(6),
        /** Unauthenticated connections held at once; more are closed at accept (sshd's MaxStartups). */
        maxStartups: z.number().int().min(1).max(100_000).default(100),
        /** Unauthenticated connections held at once from one source address (sshd's PerSourceMaxStartups). */
        maxStartupsPerSource: z.number().int().min(1).max(100_000).default(10),
        /**
         * A bulk transfer's output (git fetch, paste cat) left unacknowledged to an OpenSSH client (src/ssh/flow-control.ts): auto
         * (128 KiB, more for a client whose measured round trip is longer), off (the client's whole
         * window), or a number of bytes.
         */
        unackedLimit: z
          .union(
            [
              z.enum(['auto', 'off']),
              z.coerce
                .number()
                .int()
                .min(65_536)
                .max(64 * 1024 * 1024),
            ],
            {
              error: 'expected auto, off, or a number of bytes from 65536 to 67108864',
            },
          )
          .default('auto'),
        /** Banner-free greeting shown by the TUI. */
        hostname: z.string().min(1).default('labd'),
        /** How often an open TUI home screen reads its status strip and counts again; a backend check older than twice this is made again. */
        // At most an hour: a timer longer than 24.8 days overflows to 1 ms in Node, a redraw loop.
        homeRefresh: duration.prefault('5s').refine((d) => d.seconds <= 3600, 'at most 1h'),
      })
      .prefault({}),
    http: z.strictObject({ listen: listen.default('127.0.0.1:8080') }).default({ listen: '127.0.0.1:8080' }),
    auth: z
      .strictObject({
        /** File of trusted user CA public keys, one per line (sshd's TrustedUserCAKeys). */
        userCaKeys: z.string().min(1).optional(),
        /**
         * step-ca as the source of the user CA keys: labd fetches `GET /ssh/roots` at start and every
         * `refresh`, over HTTPS pinned to step-ca's root (its file, or its SHA-256 fingerprint as
         * `step ca bootstrap` takes it). Its keys add to `userCaKeys`.
         */
        stepCa: z
          .strictObject({
            url: z.url({ protocol: /^https$/, error: 'expected the https URL of step-ca, e.g. https://ca.example.net' }).optional(),
            /** SHA-256 of the root certificate (DER), hex as `step certificate fingerprint` prints it. */
            rootFingerprint: z
              .string()
              .transform((s) => s.replace(/:/g, '').toLowerCase())
              .pipe(z.string().regex(/^[0-9a-f]{64}$/, 'expected the SHA-256 fingerprint of the root certificate (64 hex digits)'))
              .optional(),
            /** PEM file of the root certificate (root_ca.crt). */
            root: z.string().min(1).optional(),
            refresh: timerDuration.prefault('1h'),
          })
          .prefault({})
          .refine((s) => !s.url || s.rootFingerprint || s.root, {
            message: 'auth.stepCa.url needs auth.stepCa.rootFingerprint or auth.stepCa.root (the root to pin)',
            path: ['url'],
          }),
        /** Public keys (newline separated) that log in as the initial admin. */
        initialAdminKeys: z.string().default(''),
        initialAdminName: z
          .string()
          .regex(/^[a-z][a-z0-9_-]{0,31}$/)
          .default('admin'),
        /** Who may create an account: closed (admins add users), invite, sso (certificates and OIDC logins), open (also plain keys). */
        signup: z.enum(SIGNUP_POLICIES).default('sso'),
        /** Whether a valid certificate for an unknown principal creates a user (when the sign-up policy allows certificates at all). */
        certificateSignup: z.boolean().default(true),
        defaultRole: role.default('member'),
        /** Certificate principals that grant a role, e.g. { admins: admin }. */
        principalRoles: z.record(z.string().min(1), role).default({}),
        /** Certificate principals that log in as a given user (the only way a principal reaches the initial admin or another name). */
        principalUsers: z.record(z.string().min(1), z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a labd user name')).default({}),
        /** Tolerated clock difference when checking a certificate's validity window. */
        clockSkew: duration.prefault('60s'),
        /** Refuse certificates whose validity window is longer than this. */
        maxCertLifetime: duration.optional(),
        revokedSerials: z.array(z.string().regex(/^\d+$/, 'expected a decimal serial')).default([]),
        revokedKeyIds: z.array(z.string().min(1)).default([]),
        oidc: oidcSchema.default({ enabled: false }),
      })
      .prefault({}),
    paste: z
      .strictObject({
        maxSize: z
          .number()
          .int()
          .min(1)
          .max(1024 ** 3)
          .default(10 * 1024 * 1024),
        defaultExpiry: z.union([z.literal('none'), duration]).prefault('none'),
        sweepInterval: timerDuration.prefault('10m'),
        /** What one user may keep stored: total bytes and number of pastes (expired ones count until swept). */
        quota: z
          .strictObject({
            bytes: z
              .number()
              .int()
              .min(1)
              .max(1024 ** 4)
              .default(PASTE_QUOTA_BYTES),
            count: z.number().int().min(1).max(1_000_000).default(PASTE_QUOTA_COUNT),
          })
          .prefault({}),
      })
      .prefault({}),
    /** The personal CRM: the region national phone numbers are read in (ISO 3166, e.g. DE), and the most `crm import` reads. */
    crm: z
      .strictObject({
        defaultRegion: z
          .string()
          .regex(/^[A-Z]{2}$/, 'expected a two-letter country code like DE or GB')
          .optional(),
        maxImportBytes: z
          .number()
          .int()
          .min(1024)
          .max(1024 ** 3)
          .default(32 * 1024 * 1024),
        /** Apprise API notify endpoint for the daily reminders (birthdays today, people overdue); unset: none. */
        remindersApprise: z.url({ protocol: /^https?$/, error: 'expected the http(s) URL of an Apprise API notify endpoint' }).optional(),
        /** When (UTC, HH:MM) the daily reminders go out. */
        remindAt: z
          .string()
          .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (UTC)')
          .default('08:00'),
        /** How often the reminder job looks whether it is time. */
        reminderCheckInterval: timerDuration.prefault('5m'),
        /** What one user may keep in their address book: cards, and bytes stored (every path: CardDAV, add, edit, import). */
        quota: z
          .strictObject({
            cards: z.number().int().min(1).max(10_000_000).default(CRM_QUOTA_CARDS),
            bytes: z
              .number()
              .int()
              .min(1024)
              .max(1024 ** 4)
              .default(CRM_QUOTA_BYTES),
          })
          .prefault({}),
        /** The largest one card may be (bytes as stored; a CardDAV PUT body past it is refused with 413). */
        maxCardBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(CRM_MAX_CARD_BYTES),
        /** The most responses one CardDAV sync-collection answer carries; a client's smaller <D:limit> wins. */
        syncPageSize: z.number().int().min(1).max(100_000).default(CRM_SYNC_PAGE_SIZE),
      })
      .prefault({}),
    /** App tokens (CardDAV, git over HTTP): how many one user may hold (not revoked; expired ones count until revoked). */
    tokens: z
      .strictObject({
        maxPerUser: z.number().int().min(1).max(10_000).default(TOKENS_MAX_PER_USER),
      })
      .prefault({}),
    /**
     * NATS between labd replicas (pub/sub across replicas). Unset: one process, the in-process broker.
     * url: nats://[user:pass@]host:4222 or tls://…, several comma separated; credentials in the URL
     * (user:pass, or a token as the user part) or a .creds file; TLS files as the client takes them.
     */
    nats: z
      .strictObject({
        url: z
          .string()
          .regex(/^(nats|tls):\/\/[^\s,]+(,(nats|tls):\/\/[^\s,]+)*$/, { error: 'expected nats://host:4222 (or tls://…; several comma separated)' })
          .optional(),
        /** A NATS .creds file (user JWT and nkey seed). */
        creds: z.string().min(1).optional(),
        tls: z
          .strictObject({
            ca: z.string().min(1).optional(),
            cert: z.string().min(1).optional(),
            key: z.string().min(1).optional(),
          })
          .prefault({}),
      })
      .prefault({}),
    /** Pub/sub: how far a subscriber may fall behind, how many topics one user may hold open, and all topics' buffers together. */
    pubsub: z
      .strictObject({
        subscriberBuffer: z
          .number()
          .int()
          .min(256 * 1024)
          .max(1024 ** 3)
          .default(PUBSUB_SUBSCRIBER_BUFFER),
        /** Live topics one user may own at once. */
        maxTopicsPerUser: z.number().int().min(1).max(10_000).default(PUBSUB_MAX_TOPICS_PER_USER),
        /** Bytes all subscribers' queues may hold together; a subscriber whose queue would pass it is dropped. */
        maxBufferedBytes: z
          .number()
          .int()
          .min(256 * 1024)
          .max(64 * 1024 ** 3)
          .default(PUBSUB_MAX_BUFFERED),
      })
      .prefault({}),
    /** The Kubernetes cluster ops talk to: a kubeconfig file (else in-cluster when labd runs in a pod), its context, and the time-out of each API request. */
    kube: z
      .strictObject({
        kubeconfig: z.string().min(1).optional(),
        context: z.string().min(1).optional(),
        requestTimeout: timerDuration.prefault('10s'),
        /** Use the pod's service account when no kubeconfig is set; the loader sets it when KUBERNETES_SERVICE_HOST is. */
        inCluster: z.boolean().default(false),
      })
      .prefault({}),
    /**
     * Which replica runs the singleton work (the Matrix bot, alert polling and escalation, mirrors,
     * reminders, sweeps): `auto` is `single` without database.url (one SQLite process, always leader),
     * `lease` with database.url in a pod with Kubernetes configured, `postgres` (an advisory lock) otherwise.
     * The durations are client-go's leader election's (renewDeadline < leaseDuration, retryPeriod × 1.2 < renewDeadline).
     */
    leader: z
      .strictObject({
        election: z.enum(['auto', 'single', 'lease', 'postgres']).default('auto'),
        /** The coordination.k8s.io/v1 Lease's name. */
        leaseName: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'expected a lowercase DNS name, e.g. labd-leader')
          .default('labd-leader'),
        /** The Lease's namespace: unset, the kubeconfig context's (in a pod, its service account's), else default. */
        namespace: z.string().min(1).optional(),
        /** This replica's name in the Lease (holderIdentity): unset, HOST_PID (in a pod the host name is the pod's name). */
        identity: z.string().min(1).max(128).optional(),
        leaseDuration: timerDuration.prefault('15s'),
        renewDeadline: timerDuration.prefault('10s'),
        retryPeriod: timerDuration.prefault('2s'),
      })
      .prefault({})
      .refine((l) => l.renewDeadline.ms < l.leaseDuration.ms, {
        message: 'leader.renewDeadline must be shorter than leader.leaseDuration (a leader that cannot renew stops before its lease expires)',
        path: ['renewDeadline'],
      })
      .refine((l) => l.retryPeriod.ms * 1.2 < l.renewDeadline.ms, {
        message: 'leader.retryPeriod times 1.2 must be shorter than leader.renewDeadline',
        path: ['retryPeriod'],
      }),
    /** Node provisioning: PXE boot profiles served to pixiecore, join tokens, and how often joins and drains are checked. */
    nodes: nodesSchema,
    /** Alertmanager (design §2.2): off, or fully configured (a half-configured section fails at boot). */
    alertmanager: alertmanagerSchema.default({ enabled: false }),
    /** The Matrix bot (design §2.2): off, or fully configured; a half-configured bot fails at boot. */
    matrix: matrixSchema,
    /** Seats (design §2.1): people's devices joining the lab's private subnet as Kilo WireGuard peers. */
    seats: seatsSchema.default({ cidr: '10.5.0.0/24', allowedIPs: ['10.4.0.0/16'], dns: [], persistentKeepalive: 25 }),
    /** The git forge (issue 12): bare repositories under <dataDir>/repos. */
    git: z
      .strictObject({
        /** What people without a key get on public repositories over SSH (keyless keyboard-interactive login) and HTTP: no-access turns keyless SSH logins off. */
        anonAccess: z.enum(['no-access', 'read-only', 'read-write']).default('no-access'),
        /** The git program labd runs (upload-pack, receive-pack and every read). */
        binary: z.string().min(1).default('git'),
        /** How often pull mirrors are fetched from their origin. */
        mirrorInterval: timerDuration.prefault('1h'),
        /** Largest smart-HTTP request body (a fetch negotiation) accepted. */
        httpMaxBody: z
          .number()
          .int()
          .min(64 * 1024)
          .max(1024 ** 3)
          .default(16 * 1024 * 1024),
        /** Request bytes all smart-HTTP fetches may hold at once (as received and inflated); past it a request is refused with 503. */
        httpMaxInflight: z
          .number()
          .int()
          .min(1024 * 1024)
          .max(64 * 1024 ** 3)
          .default(64 * 1024 * 1024),
        /** A git transport (SSH or HTTP) that neither sends nor receives for this long is ended. */
        idleTimeout: timerDuration.prefault('2m'),
        /** git processes serving clients (SSH and HTTP) at once, in all. */
        maxProcesses: z.number().int().min(1).max(10_000).default(32),
        /** git processes one client may hold at once: per user, or per source address for anonymous ones. */
        maxProcessesPerClient: z.number().int().min(1).max(10_000).default(8),
        /** What one user may own (counted against whoever created each repository): repositories, and their size on disk together. */
        quota: z
          .strictObject({
            repos: z.number().int().min(1).max(100_000).default(GIT_QUOTA_REPOS),
            bytes: z
              .number()
              .int()
              .min(1024 * 1024)
              .max(1024 ** 5)
              .default(GIT_QUOTA_BYTES),
          })
          .prefault({}),
        /** Largest pack one push may send (git's receive.maxInputSize); a push also gets no more than its owner's free quota. */
        maxPushBytes: z
          .number()
          .int()
          .min(64 * 1024)
          .max(1024 ** 4)
          .default(GIT_MAX_PUSH_BYTES),
        /** Let `repo import` and mirrors fetch from loopback, private, link-local and other internal addresses (off: an import is no port scanner). */
        importAllowPrivate: z.boolean().default(false),
        /** Internal sources `repo import` may use all the same: host names (exactly as in the URL) or CIDRs such as 10.0.0.0/24. */
        importAllow: z.array(z.union([cidr, z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i, 'expected a host name or a CIDR')])).default([]),
      })
      .prefault({}),
    /** Syntax highlighting of the paste and git pages, run in worker threads so no page holds the event loop. */
    highlight: z
      .strictObject({
        /** One input's time in a worker; past it the worker is replaced and the page shows plain text. */
        timeout: timerDuration.prefault('1s'),
        /** Characters above which a page is shown plain without trying. */
        maxBytes: z
          .number()
          .int()
          .min(0)
          .max(64 * 1024 * 1024)
          .default(512 * 1024),
        /** Worker threads highlighting at once. */
        workers: z.number().int().min(1).max(16).default(1),
        /** Pages waiting for a worker; beyond them, plain text at once. */
        maxQueue: z.number().int().min(0).max(10_000).default(16),
        /** Highlighted markup kept in memory for pages asked for again. */
        cacheBytes: z
          .number()
          .int()
          .min(0)
          .max(4 * 1024 ** 3)
          .default(32 * 1024 * 1024),
      })
      .prefault({}),
    /** Overrides of the role → permissions table (design §4): a built-in role's whole list. Names are checked against what modules declare at start. */
    roles: z.partialRecord(role, z.array(permissionName)).default({}),
    /** Access defaults (issue #14): `defaults` gives a permission (a service's, e.g. git.write) to these roles instead of its module's defaults. */
    access: z.strictObject({ defaults: z.record(permissionName, z.array(role)).default({}) }).prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
