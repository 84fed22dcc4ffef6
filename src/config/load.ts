import { readFileSync } from 'node:fs';
import { lazyRequire } from '../core/lazy-require.ts';
import { z } from 'zod';
import { configSchema, type Config } from './schema.ts';
import { invalidValueText, issueText } from './issue-text.ts';

export class ConfigError extends Error {}

/** Environment variables and the config path they override. */
const ENV_KEYS: Record<string, { path: string[]; kind: 'string' | 'boolean' | 'list' | 'map' | 'number' }> = {
  LABD_DATA_DIR: { path: ['dataDir'], kind: 'string' },
  LABD_DATABASE_URL: { path: ['database', 'url'], kind: 'string' },
  LABD_DATABASE_POOL_SIZE: { path: ['database', 'poolSize'], kind: 'number' },
  LABD_PUBLIC_URL: { path: ['publicUrl'], kind: 'string' },
  LABD_LOG_LEVEL: { path: ['log', 'level'], kind: 'string' },
  LABD_LOG_FORMAT: { path: ['log', 'format'], kind: 'string' },
  LABD_SSH_LISTEN: { path: ['ssh', 'listen'], kind: 'string' },
  LABD_SSH_AUTH_TIMEOUT: { path: ['ssh', 'authTimeout'], kind: 'string' },
  LABD_SSH_MAX_AUTH_TRIES: { path: ['ssh', 'maxAuthTries'], kind: 'number' },
  LABD_SSH_MAX_STARTUPS: { path: ['ssh', 'maxStartups'], kind: 'number' },
  LABD_SSH_MAX_STARTUPS_PER_SOURCE: { path: ['ssh', 'maxStartupsPerSource'], kind: 'number' },
  LABD_SSH_HOME_REFRESH: { path: ['ssh', 'homeRefresh'], kind: 'string' },
  LABD_SSH_UNACKED_LIMIT: { path: ['ssh', 'unackedLimit'], kind: 'string' },
  LABD_HTTP_LISTEN: { path: ['http', 'listen'], kind: 'string' },
  LABD_USER_CA_KEYS: { path: ['auth', 'userCaKeys'], kind: 'string' },
  LABD_STEPCA_URL: { path: ['auth', 'stepCa', 'url'], kind: 'string' },
  LABD_STEPCA_ROOT_FINGERPRINT: { path: ['auth', 'stepCa', 'rootFingerprint'], kind: 'string' },
  LABD_STEPCA_ROOT: { path: ['auth', 'stepCa', 'root'], kind: 'string' },
  LABD_STEPCA_REFRESH: { path: ['auth', 'stepCa', 'refresh'], kind: 'string' },
  LABD_INITIAL_ADMIN_KEYS: { path: ['auth', 'initialAdminKeys'], kind: 'string' },
  LABD_SIGNUP: { path: ['auth', 'signup'], kind: 'string' },
  LABD_CERT_SIGNUP: { path: ['auth', 'certificateSignup'], kind: 'boolean' },
  LABD_DEFAULT_ROLE: { path: ['auth', 'defaultRole'], kind: 'string' },
  LABD_PRINCIPAL_ROLES: { path: ['auth', 'principalRoles'], kind: 'map' },
  LABD_PRINCIPAL_USERS: { path: ['auth', 'principalUsers'], kind: 'map' },
  LABD_CERT_CLOCK_SKEW: { path: ['auth', 'clockSkew'], kind: 'string' },
  LABD_MAX_CERT_LIFETIME: { path: ['auth', 'maxCertLifetime'], kind: 'string' },
  LABD_REVOKED_SERIALS: { path: ['auth', 'revokedSerials'], kind: 'list' },
  LABD_REVOKED_KEY_IDS: { path: ['auth', 'revokedKeyIds'], kind: 'list' },
  LABD_OIDC_ISSUER: { path: ['auth', 'oidc', 'issuer'], kind: 'string' },
  LABD_OIDC_CLIENT_ID: { path: ['auth', 'oidc', 'clientId'], kind: 'string' },
  LABD_OIDC_CLIENT_SECRET: { path: ['auth', 'oidc', 'clientSecret'], kind: 'string' },
  LABD_OIDC_SCOPES: { path: ['auth', 'oidc', 'scopes'], kind: 'list' },
  LABD_OIDC_KEY_LIFETIME: { path: ['auth', 'oidc', 'keyLifetime'], kind: 'string' },
  LABD_OIDC_GROUP_ROLES: { path: ['auth', 'oidc', 'groupRoles'], kind: 'map' },
  // Before LABD_OIDC_MAX_FLOWS: error paths are matched by prefix.
  LABD_OIDC_MAX_FLOWS_PER_SOURCE: { path: ['auth', 'oidc', 'maxFlowsPerSource'], kind: 'number' },
  LABD_OIDC_MAX_FLOWS: { path: ['auth', 'oidc', 'maxFlows'], kind: 'number' },
  LABD_OIDC_MAX_CODE_LIFETIME: { path: ['auth', 'oidc', 'maxCodeLifetime'], kind: 'string' },
  LABD_OIDC_ALLOW_HTTP: { path: ['auth', 'oidc', 'allowHttp'], kind: 'boolean' },
  LABD_KUBECONFIG: { path: ['kube', 'kubeconfig'], kind: 'string' },
  LABD_KUBE_CONTEXT: { path: ['kube', 'context'], kind: 'string' },
  LABD_KUBE_TIMEOUT: { path: ['kube', 'requestTimeout'], kind: 'string' },
  LABD_LEADER_ELECTION: { path: ['leader', 'election'], kind: 'string' },
  LABD_LEADER_LEASE_NAME: { path: ['leader', 'leaseName'], kind: 'string' },
  LABD_LEADER_NAMESPACE: { path: ['leader', 'namespace'], kind: 'string' },
  LABD_LEADER_IDENTITY: { path: ['leader', 'identity'], kind: 'string' },
  LABD_LEADER_LEASE_DURATION: { path: ['leader', 'leaseDuration'], kind: 'string' },
  LABD_LEADER_RENEW_DEADLINE: { path: ['leader', 'renewDeadline'], kind: 'string' },
  LABD_LEADER_RETRY_PERIOD: { path: ['leader', 'retryPeriod'], kind: 'string' },
  LABD_NODES_SERVER: { path: ['nodes', 'server'], kind: 'string' },
  LABD_NODES_TOKEN_TTL: { path: ['nodes', 'tokenTtl'], kind: 'string' },
  LABD_NODES_JOIN_POLL: { path: ['nodes', 'joinPollInterval'], kind: 'string' },
  LABD_NODES_EVICT_RETRY: { path: ['nodes', 'evictRetryInterval'], kind: 'string' },
  LABD_BOOT_LISTEN: { path: ['nodes', 'bootListen'], kind: 'string' },
  LABD_BOOT_ALLOW: { path: ['nodes', 'bootAllow'], kind: 'list' },
  LABD_BOOT_UNKNOWN_PER_MINUTE: { path: ['nodes', 'bootUnknownPerMinute'], kind: 'number' },
  LABD_ALERTMANAGER_URL: { path: ['alertmanager', 'url'], kind: 'string' },
  LABD_WEBHOOK_TOKEN: { path: ['alertmanager', 'webhookToken'], kind: 'string' },
  /** The earlier name of LABD_WEBHOOK_TOKEN, still accepted. */
  LABD_ALERTMANAGER_WEBHOOK_TOKEN: { path: ['alertmanager', 'webhookToken'], kind: 'string' },
  LABD_ALERTMANAGER_ACK_HOLD_STEP: { path: ['alertmanager', 'ackHoldStep'], kind: 'string' },
  LABD_ALERTMANAGER_ACK_HOLD_MAX: { path: ['alertmanager', 'ackHoldMax'], kind: 'string' },
  LABD_ALERTMANAGER_ESCALATE_AFTER: { path: ['alertmanager', 'escalateAfter'], kind: 'string' },
  LABD_APPRISE_URL: { path: ['alertmanager', 'appriseUrl'], kind: 'string' },
  LABD_APPRISE_RETRY: { path: ['alertmanager', 'appriseRetry'], kind: 'string' },
  LABD_ALERTMANAGER_POLL_INTERVAL: { path: ['alertmanager', 'pollInterval'], kind: 'string' },
  LABD_MATRIX_ENABLED: { path: ['matrix', 'enabled'], kind: 'boolean' },
  LABD_MATRIX_HOMESERVER: { path: ['matrix', 'homeserverUrl'], kind: 'string' },
  // Before LABD_MATRIX_TOKEN: error paths are matched by prefix, and accessTokenFile starts with accessToken.
  LABD_MATRIX_ACCESS_TOKEN_FILE: { path: ['matrix', 'accessTokenFile'], kind: 'string' },
  LABD_MATRIX_TOKEN: { path: ['matrix', 'accessToken'], kind: 'string' },
  LABD_MATRIX_COMMAND_PREFIX: { path: ['matrix', 'commandPrefix'], kind: 'string' },
  LABD_MATRIX_CONFIRM_WINDOW: { path: ['matrix', 'confirmWindow'], kind: 'string' },
  LABD_MATRIX_ROOMS: { path: ['matrix', 'rooms'], kind: 'list' },
  LABD_MATRIX_USERS: { path: ['matrix', 'userMap'], kind: 'map' },
  LABD_MATRIX_ALERTS_ROOM: { path: ['matrix', 'alertsRoom'], kind: 'string' },
  LABD_MATRIX_EVENTS_ROOM: { path: ['matrix', 'eventsRoom'], kind: 'string' },
  LABD_MATRIX_ONCALL: { path: ['matrix', 'oncall'], kind: 'list' },
  LABD_MATRIX_ESCALATE_TO: { path: ['matrix', 'escalateTo'], kind: 'list' },
  LABD_PUBSUB_SUBSCRIBER_BUFFER: { path: ['pubsub', 'subscriberBuffer'], kind: 'number' },
  LABD_NATS_URL: { path: ['nats', 'url'], kind: 'string' },
  LABD_NATS_CREDS: { path: ['nats', 'creds'], kind: 'string' },
  LABD_NATS_TLS_CA: { path: ['nats', 'tls', 'ca'], kind: 'string' },
  LABD_NATS_TLS_CERT: { path: ['nats', 'tls', 'cert'], kind: 'string' },
  LABD_NATS_TLS_KEY: { path: ['nats', 'tls', 'key'], kind: 'string' },
  LABD_GIT_ANON_ACCESS: { path: ['git', 'anonAccess'], kind: 'string' },
  LABD_GIT_BINARY: { path: ['git', 'binary'], kind: 'string' },
  LABD_GIT_MIRROR_INTERVAL: { path: ['git', 'mirrorInterval'], kind: 'string' },
  LABD_GIT_HTTP_MAX_BODY: { path: ['git', 'httpMaxBody'], kind: 'number' },
  LABD_GIT_HTTP_MAX_INFLIGHT: { path: ['git', 'httpMaxInflight'], kind: 'number' },
  LABD_GIT_IDLE_TIMEOUT: { path: ['git', 'idleTimeout'], kind: 'string' },
  LABD_GIT_MAX_PROCESSES: { path: ['git', 'maxProcesses'], kind: 'number' },
  LABD_GIT_MAX_PROCESSES_PER_CLIENT: { path: ['git', 'maxProcessesPerClient'], kind: 'number' },
  LABD_HIGHLIGHT_TIMEOUT: { path: ['highlight', 'timeout'], kind: 'string' },
  LABD_HIGHLIGHT_MAX_BYTES: { path: ['highlight', 'maxBytes'], kind: 'number' },
  LABD_HIGHLIGHT_WORKERS: { path: ['highlight', 'workers'], kind: 'number' },
  LABD_HIGHLIGHT_MAX_QUEUE: { path: ['highlight', 'maxQueue'], kind: 'number' },
  LABD_HIGHLIGHT_CACHE_BYTES: { path: ['highlight', 'cacheBytes'], kind: 'number' },
  LABD_GIT_QUOTA_REPOS: { path: ['git', 'quota', 'repos'], kind: 'number' },
  LABD_GIT_QUOTA_BYTES: { path: ['git', 'quota', 'bytes'], kind: 'number' },
  LABD_GIT_MAX_PUSH_BYTES: { path: ['git', 'maxPushBytes'], kind: 'number' },
  LABD_GIT_IMPORT_ALLOW_PRIVATE: { path: ['git', 'importAllowPrivate'], kind: 'boolean' },
  LABD_GIT_IMPORT_ALLOW: { path: ['git', 'importAllow'], kind: 'list' },
  LABD_PUBSUB_MAX_TOPICS_PER_USER: { path: ['pubsub', 'maxTopicsPerUser'], kind: 'number' },
  LABD_TOKENS_MAX_PER_USER: { path: ['tokens', 'maxPerUser'], kind: 'number' },
  LABD_PUBSUB_MAX_BUFFERED: { path: ['pubsub', 'maxBufferedBytes'], kind: 'number' },
  LABD_SEATS_CIDR: { path: ['seats', 'cidr'], kind: 'string' },
  LABD_SEATS_ENDPOINT: { path: ['seats', 'endpoint'], kind: 'string' },
  LABD_SEATS_SERVER_PUBLIC_KEY: { path: ['seats', 'serverPublicKey'], kind: 'string' },
  LABD_SEATS_ALLOWED_IPS: { path: ['seats', 'allowedIPs'], kind: 'list' },
  LABD_SEATS_DNS: { path: ['seats', 'dns'], kind: 'list' },
  LABD_PASTE_MAX_SIZE: { path: ['paste', 'maxSize'], kind: 'number' },
  LABD_PASTE_DEFAULT_EXPIRY: { path: ['paste', 'defaultExpiry'], kind: 'string' },
  LABD_PASTE_SWEEP_INTERVAL: { path: ['paste', 'sweepInterval'], kind: 'string' },
  LABD_CRM_DEFAULT_REGION: { path: ['crm', 'defaultRegion'], kind: 'string' },
  LABD_CRM_MAX_IMPORT_BYTES: { path: ['crm', 'maxImportBytes'], kind: 'number' },
  LABD_PASTE_QUOTA_BYTES: { path: ['paste', 'quota', 'bytes'], kind: 'number' },
  LABD_PASTE_QUOTA_COUNT: { path: ['paste', 'quota', 'count'], kind: 'number' },
  LABD_CRM_REMINDERS_APPRISE: { path: ['crm', 'remindersApprise'], kind: 'string' },
  LABD_CRM_REMIND_AT: { path: ['crm', 'remindAt'], kind: 'string' },
  LABD_CRM_REMINDER_CHECK_INTERVAL: { path: ['crm', 'reminderCheckInterval'], kind: 'string' },
  LABD_CRM_QUOTA_CARDS: { path: ['crm', 'quota', 'cards'], kind: 'number' },
  LABD_CRM_QUOTA_BYTES: { path: ['crm', 'quota', 'bytes'], kind: 'number' },
  LABD_CRM_MAX_CARD_BYTES: { path: ['crm', 'maxCardBytes'], kind: 'number' },
  LABD_CRM_SYNC_PAGE_SIZE: { path: ['crm', 'syncPageSize'], kind: 'number' },
};

export const CONFIG_ENV_NAMES = ['LABD_CONFIG', ...Object.keys(ENV_KEYS)];

function envValue(name: string, path: string[], raw: string, kind: string): unknown {
  const bad = (expected: string) => new ConfigError(invalidValueText(path.join('.'), name, expected, raw, exampleAt(path)));
  switch (kind) {
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw bad('expected true or false');
    case 'number':
      if (!/^\d+$/.test(raw.trim())) throw bad('expected a whole number');
      return Number(raw);
    case 'list':
      return raw.split(/[,\s]+/).filter(Boolean);
    case 'map': {
      const out: Record<string, string> = {};
      for (const pair of raw.split(/[,\s]+/).filter(Boolean)) {
        const [k, v] = pair.split('=');
        if (!k || !v) throw bad('expected NAME=VALUE pairs separated by commas, like admins=admin,ops=operator');
        out[k] = v;
      }
      return out;
    }
    default:
      return raw;
  }
}

/** The default at a key, as an example of a good value (the schema's defaults, parsed once on demand). */
let defaults: unknown;
function exampleAt(path: readonly PropertyKey[]): unknown {
  defaults ??= configSchema.safeParse({}).data ?? {};
  let cur: unknown = defaults;
  for (const key of path) cur = typeof cur === 'object' && cur !== null ? (cur as Record<PropertyKey, unknown>)[key] : undefined;
  // A duration's default is shown as written.
  if (typeof cur === 'object' && cur !== null && 'text' in cur) return (cur as { text: unknown }).text;
  return cur;
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur = obj;
  for (const key of path) cur = typeof cur === 'object' && cur !== null ? (cur as Record<PropertyKey, unknown>)[key] : undefined;
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    const next = cur[key];
    if (typeof next !== 'object' || next === null) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

function envNameFor(path: PropertyKey[]): string | undefined {
  const joined = path.join('.');
  return Object.entries(ENV_KEYS).find(([, v]) => joined.startsWith(v.path.join('.')))?.[0];
}

/** Variables labd no longer reads: set, they stop labd with what to do instead rather than being ignored. */
const RETIRED_ENV: Record<string, string> = {
  LABD_MATRIX_ESCALATE_AFTER: 'set LABD_ALERTMANAGER_ESCALATE_AFTER (alertmanager.escalateAfter), which times the room mention and Apprise alike',
  LABD_PUBSUB_STALL_TIMEOUT: 'publishers no longer wait for slow subscribers; LABD_PUBSUB_SUBSCRIBER_BUFFER alone decides when one is dropped',
};

/** Loads the optional YAML file named by LABD_CONFIG, applies LABD_* overrides, validates once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let raw: Record<string, unknown> = {};
  const file = env.LABD_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`config: LABD_CONFIG: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    try {
      // yaml loads only for a config file: most labs run on the environment alone.
      const parsed: unknown = lazyRequire<typeof import('yaml')>('yaml')().parse(text);
      if (parsed !== null && parsed !== undefined) {
        if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the top level must be a mapping');
        raw = parsed as Record<string, unknown>;
      }
    } catch (err) {
      throw new ConfigError(`config: ${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  for (const [name, instead] of Object.entries(RETIRED_ENV)) {
    if (env[name]) throw new ConfigError(`config: ${name} is no longer read: ${instead}`);
  }
  if (env.LABD_WEBHOOK_TOKEN && env.LABD_ALERTMANAGER_WEBHOOK_TOKEN && env.LABD_WEBHOOK_TOKEN !== env.LABD_ALERTMANAGER_WEBHOOK_TOKEN) {
    throw new ConfigError(
      'config: LABD_WEBHOOK_TOKEN and LABD_ALERTMANAGER_WEBHOOK_TOKEN (its earlier name) are both set and differ; set only LABD_WEBHOOK_TOKEN',
    );
  }
  for (const [name, spec] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(raw, spec.path, envValue(name, spec.path, value, spec.kind));
  }
  // Kubernetes sets this in every pod: with its service account token, labd talks to its own cluster.
  if (env.KUBERNETES_SERVICE_HOST) setPath(raw, ['kube', 'inCluster'], true);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.join('.') || '(top level)';
    const envName = envNameFor(issue.path);
    if (issue.code === 'unrecognized_keys')
      throw new ConfigError(
        `config: ${where}${envName ? ` (${envName})` : ''}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`,
      );
    throw new ConfigError(issueText(issue, where, envName, valueAt(raw, issue.path), exampleAt(issue.path)));
  }
  return result.data;
}

export { z };
