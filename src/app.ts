import { createLogger, type Logger } from './core/logger.ts';
import { storageOver, type TransactionRunner } from './ops/storage.ts';
import { Metrics } from './core/metrics.ts';
import { DEFAULT_ROLE_PERMISSIONS, type Role, type RolePermissions } from './core/permissions.ts';
import { systemClock, type Clock } from './core/clock.ts';
import { readFileSync } from 'node:fs';
import type { Config } from './config/schema.ts';
import { openDatabase, type DatabaseEngine } from './db/engine.ts';
import type { SqlHandle } from './db/sql.ts';
import { healthRoutes } from './http/health.ts';
import { HttpServer } from './http/server.ts';
import { auditModule } from './ops/audit/index.ts';
import { SqlAuditLog } from './ops/audit/sql-store.ts';
import { alertsModule, createAlertService } from './ops/alerts/index.ts';
import { SqlEscalationStore } from './ops/alerts/sql-escalations.ts';
import { deploysModule } from './ops/deploys/index.ts';
import { OpsEvents } from './ops/events/index.ts';
import { createChangeFeed, TOPICS, type ChangeFeed } from './ops/changes/index.ts';
import type { PgNotifyPool } from './ops/changes/pg-notify.ts';
import { announcingIdentityStore } from './ops/identity/changes.ts';
import { SqlOpsEventStore } from './ops/events/sql-store.ts';
import { identityModule } from './ops/identity/index.ts';
import { AccessControl, accessModule, Delegation } from './ops/access/index.ts';
import { SqlAccessStore } from './ops/access/sql-store.ts';
import { SqlWrongCodes } from './ops/access/sql-wrong-codes.ts';
import { initialAdminFingerprints, LoginService, lookup } from './ops/identity/login.ts';
import { SqlIdentityStore } from './ops/identity/sql-store.ts';
import { OidcLogin } from './ops/identity/oidc-login.ts';
import { SqlOidcLinks } from './ops/identity/sql-oidc-links.ts';
import { OpenIdClientOidc } from './ops/oidc/index.ts';
import { connectKube, type KubePort } from './ops/kube/index.ts';
import { metaModule } from './ops/meta/index.ts';
import { intervalJob, type Job, type LabdModule } from './ops/module.ts';
import { createLeadership, JobRunner, roleOf, type Leadership } from './ops/leader/index.ts';
import type { PgPoolLike } from './ops/leader/pg-advisory.ts';
import { nodesModule } from './ops/nodes/index.ts';
import { SqlNodeInventory } from './ops/nodes/sql-store.ts';
import { Registry } from './ops/registry.ts';
import { seatsModule } from './ops/seats/index.ts';
import { SqlSeatStore } from './ops/seats/sql-store.ts';
import { gitModule } from './apps/git/index.ts';
import { SqlRepoStore } from './apps/git/sql-store.ts';
import { crmModule } from './apps/crm/index.ts';
import type { ReminderChannel } from './apps/crm/reminders.ts';
import { SqlCrmStore } from './apps/crm/sql-store.ts';
import { tokensModule } from './ops/tokens/index.ts';
import { AppriseClient } from './ops/alerts/apprise.ts';
import { SqlTokenStore } from './ops/tokens/sql-store.ts';
import { TokenActors } from './ops/tokens/actor.ts';
import { pasteModule } from './apps/paste/index.ts';
import { createHighlighter } from './core/highlight/index.ts';
import { SqlPasteStore } from './apps/paste/sql-store.ts';
import { TopicBroker } from './apps/pubsub/broker.ts';
import { pubsubModule } from './apps/pubsub/index.ts';
import { matrixBotModule } from './bot/index.ts';
import { matrixProbe } from './bot/probe.ts';
import { matrixLinksModule } from './ops/matrix-links/index.ts';
import { SqlMatrixLinkStore } from './ops/matrix-links/sql-store.ts';
import { loadCaKeys, staticCaKeys, unionCaKeys } from './ssh/ca-keys.ts';
import { StepCaClient } from './ops/stepca/client.ts';
import { StepCaTrust, type StepCaStatus } from './ops/stepca/trust.ts';
import type { SoftCheck } from './http/health.ts';
import type { CertPolicy } from './ssh/cert-check.ts';
import { loadOrCreateHostKey } from './ssh/hostkey.ts';
import { sshCryptoPath } from './ssh/crypto-path.ts';
import { SshServer } from './ssh/server.ts';
import type { TuiApp } from './ssh/tui/apps.ts';
import { accountTuiApps } from './ssh/tui/admin.ts';
import { backendReading, leaderReading } from './ssh/tui/home.ts';
import { TuiHost } from './ssh/tui/host.ts';
import { opsTuiApps } from './ssh/tui/ops/index.ts';
import { VERSION } from './version.ts';
import { Backends } from './ops/backends.ts';
import { SqlAlertStore } from './ops/alerts/sql-store.ts';
import type { AlertStore } from './ops/alerts/store.ts';
import { SqlBotStore } from './bot/sql-store.ts';
import { SqlAlertMessageStore } from './bot/sql-alert-store.ts';
import type { BotStore } from './bot/store.ts';

const BACKEND_PROBE_INTERVAL_MS = 30_000;
/** How long one request to step-ca may take. */
const STEPCA_TIMEOUT_MS = 10_000;
const BACKEND_PROBE_TIMEOUT_MS = 10_000;

export interface Labd {
  config: Config;
  log: Logger;
  database: DatabaseEngine;
  registry: Registry;
  ssh: { host: string; port: number };
  http: { host: string; port: number };
  /** The boot API's address, when nodes.bootListen is set. */
  boot?: { host: string; port: number };
  /** Whether this replica runs the singleton jobs now (leader.election). */
  leadership: Leadership;
  stop(): Promise<void>;
}

function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}

/** Gauges read from labd's state at scrape time, for deploy/monitoring's dashboard and alert rules. */
function registerStateMetrics(metrics: Metrics, botStore: BotStore, alertStore: AlertStore, backends: Backends, clock: Clock): void {
  metrics.gaugeFrom('labd_outbox_depth', 'Matrix messages waiting in the outbox', [], async () => [
    { value: (await botStore.outboxBacklog(clock.now())).depth },
  ]);
  metrics.gaugeFrom('labd_outbox_oldest_age_seconds', 'How long the oldest waiting Matrix message has waited (0: none waits)', [], async () => [
    { value: (await botStore.outboxBacklog(clock.now())).oldestAgeSeconds },
  ]);
  metrics.gaugeFrom('labd_alert_groups', 'Alert groups by state: firing (unacknowledged), acknowledged, resolved', ['state'], async () =>
    Object.entries(await alertStore.countByState()).map(([state, value]) => ({ labels: { state }, value })),
  );
  metrics.gaugeFrom('labd_backend_configured', 'Whether a module backend (kubernetes, alertmanager, matrix) is configured', ['backend'], () =>
    backends.all().map((b) => ({ labels: { backend: b.name }, value: b.configured ? 1 : 0 })),
  );
  metrics.gaugeFrom('labd_backend_up', 'Whether the last check reached a configured backend (absent until checked)', ['backend'], () =>
    backends
      .all()
      .filter((b) => b.configured && b.reachable !== null)
      .map((b) => ({ labels: { backend: b.name }, value: b.reachable ? 1 : 0 })),
  );
}

/**
 * The step-ca source of user CA keys, after its first fetch (a failed one leaves it empty and
 * /readyz degraded; the refresh job keeps trying). Config errors (an unreadable or mismatched root
 * file) stop labd.
 */
async function connectStepCa(c: Config['auth']['stepCa'], clock: Clock, log: Logger, changes: ChangeFeed): Promise<StepCaTrust> {
  let rootPem: string | undefined;
  if (c.root) {
    try {
      rootPem = readFileSync(c.root, 'utf8');
    } catch (err) {
      throw new Error(`config: auth.stepCa.root (LABD_STEPCA_ROOT): cannot read ${c.root}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  let client: StepCaClient;
  try {
    client = new StepCaClient({ url: c.url!, rootPem, rootFingerprint: c.rootFingerprint, timeoutMs: STEPCA_TIMEOUT_MS });
  } catch (err) {
    throw new Error(`config: auth.stepCa.root (LABD_STEPCA_ROOT): ${(err as Error).message}`);
  }
  const trust = new StepCaTrust(client, { url: c.url!, refreshMs: c.refresh.ms, clock, log, changes });
  await trust.refresh();
  return trust;
}

function stepCaCheck(s: StepCaStatus): SoftCheck {
  if (s.ok) return { ok: true, detail: `${s.keys} user CA key(s), fetched ${s.lastSuccess?.toISOString()}` };
  const kept = s.lastSuccess ? `keeping ${s.keys} user CA key(s) fetched ${s.lastSuccess.toISOString()}` : 'no user CA keys from step-ca yet';
  return { ok: false, detail: `${s.error}; ${kept}` };
}

/** How a user reaches labd's SSH front door, for messages: `ssh HOST` or `ssh -p PORT HOST`. */
function sshCommandFor(publicUrl: string, sshListen: string): string {
  const host = new URL(publicUrl).hostname;
  const port = splitListen(sshListen).port;
  return port === 22 ? `ssh ${host}` : `ssh -p ${port} ${host}`;
}

/** ssh://HOST[:PORT] for clone URLs: the public URL's host and the SSH listener's port. */
function sshCloneBase(publicUrl: string, sshListen: string): string {
  const host = new URL(publicUrl).hostname;
  const port = splitListen(sshListen).port;
  return `ssh://${host}${port === 22 ? '' : `:${port}`}`;
}

/**
 * The composition root: every adapter is built here, once, and each module gets exactly the ports
 * it needs. Adding a module is one factory call in `modules` below.
 */
/** What a caller may hand labd instead of the real thing (tests in the same process: a clock they move). */
export interface LabdDeps {
  clock?: Clock;
}

export async function startLabd(
  config: Config,
  log: Logger = createLogger(config.log.level, process.stdout, config.log.format),
  deps: LabdDeps = {},
): Promise<Labd> {
  // Which backends are configured and reachable: read by `help`, the TUI and /metrics (labd_backend_up).
  const clock = deps.clock ?? systemClock;
  const backends = new Backends(clock);
  backends.declare('matrix', {
    configured: config.matrix.enabled,
    notConfigured: 'no Matrix homeserver configured (set LABD_MATRIX_HOMESERVER and LABD_MATRIX_TOKEN)',
    ...(config.matrix.enabled ? { probe: matrixProbe(config.matrix) } : {}),
  });
  // The SDK behind the cluster port loads only when a cluster is configured (idle memory).
  const kube = await connectKube(config.kube, log, backends);
  // Before the database opens: a bad kubeconfig then ends labd with its one line and exit 2 (on Node
  // 24 a process that exits with better-sqlite3 statements alive aborts instead).
  const database = await openDatabase({ dataDir: config.dataDir, url: config.database.url, poolSize: config.database.poolSize });
  let changes: ChangeFeed | undefined;
  try {
    // Changes every replica must see at once (access rules, accounts, ops events): NATS, PostgreSQL LISTEN/NOTIFY, or in process.
    changes = await createChangeFeed(config, { dialect: database.dialect, pool: database.pool as PgNotifyPool | undefined }, log);
    return await wire(config, log, database, backends, kube, clock, changes);
  } catch (err) {
    await changes?.close();
    await database.close();
    throw err;
  }
}

async function wire(
  config: Config,
  log: Logger,
  database: DatabaseEngine,
  backends: Backends,
  kube: KubePort,
  clock: Clock,
  changes: ChangeFeed,
): Promise<Labd> {
  // Adapters. Every store runs its queries through one handle: SQLite's or PostgreSQL's, with transactions.
  const h: SqlHandle = database.handle;
  const metrics = new Metrics();
  // Who runs the singleton jobs: this process alone (SQLite), or the replica holding the Lease or the advisory lock.
  const leadership = await createLeadership(config, { dialect: database.dialect, pool: database.pool as PgPoolLike | undefined }, log);
  const audit = new SqlAuditLog(h);
  const identities = announcingIdentityStore(new SqlIdentityStore(h), changes);
  // With database.url the data dir may be one volume all replicas mount (host key, paste blobs, git
  // repositories; no SQLite file): nothing there is cleared at start as if this process were alone.
  const sharedDataDir = config.database.url !== undefined;
  const pastes = new SqlPasteStore(h, config.dataDir, clock, { shared: sharedDataDir });
  pastes.prepare();
  // One highlighting service (worker threads, deadline, cache) for the paste and git pages.
  const highlighter = createHighlighter(
    {
      timeoutMs: config.highlight.timeout.ms,
      maxBytes: config.highlight.maxBytes,
      workers: config.highlight.workers,
      maxQueue: config.highlight.maxQueue,
      cacheBytes: config.highlight.cacheBytes,
    },
    log,
  );
  const seats = new SqlSeatStore(h);
  const crm = new SqlCrmStore(h, config.crm.defaultRegion, clock);
  const appTokens = new SqlTokenStore(h, clock);
  const matrixLinks = new SqlMatrixLinkStore(h, clock);
  const inventory = new SqlNodeInventory(h, clock);
  const eventStore = new SqlOpsEventStore(h);
  const events = new OpsEvents(eventStore, clock, log, changes);
  changes.subscribe(TOPICS.opsEvents, (c) => {
    if (c.local) return;
    const id = c.resync ? undefined : Number(c.payload.id);
    events.arrived(Number.isInteger(id) ? id : undefined).catch((err: unknown) => log.warn({ err }, 'reading an ops event from another replica failed'));
  });
  const alertStore = new SqlAlertStore(h);
  const escalations = new SqlEscalationStore(h);
  // The Matrix bot's inbox/outbox (read by /metrics even when the bot is off) and its alert messages.
  const botStore = new SqlBotStore(h, clock);
  const alertMessages = new SqlAlertMessageStore(h);
  const repoStore = new SqlRepoStore(h, clock);
  const wrongCodes = new SqlWrongCodes(h);
  const oidcLinks = new SqlOidcLinks(h);
  // Apprise (an HTTP notification relay): alert escalations and CRM reminders, each where configured.
  const escalationApprise =
    config.alertmanager.enabled && config.alertmanager.appriseUrl
      ? new AppriseClient(config.alertmanager.appriseUrl, config.alertmanager.appriseTimeout.ms)
      : undefined;
  const reminderApprise = config.crm.remindersApprise ? new AppriseClient(config.crm.remindersApprise, 10_000) : undefined;
  const oidcPort = config.auth.oidc.enabled ? new OpenIdClientOidc(config.auth.oidc, log, clock) : undefined;
  const alerts = createAlertService({ config: config.alertmanager, store: alertStore, audit, clock, log });
  const broker = new TopicBroker({
    clock,
    subscriberBuffer: config.pubsub.subscriberBuffer,
    maxTopicsPerUser: config.pubsub.maxTopicsPerUser,
    maxBufferedBytes: config.pubsub.maxBufferedBytes,
  });
  // With nats.url, pub/sub reaches the other replicas over NATS (the client loads only then); NATS down at start stops labd.
  const pubsubPeers = config.nats.url
    ? await (await import('./apps/pubsub/nats-peers.ts')).PubsubPeers.connect(broker, { ...config.nats, url: config.nats.url }, log)
    : undefined;
  const rolePermissions: RolePermissions = { ...DEFAULT_ROLE_PERMISSIONS, ...config.roles };
  // The live permission table: modules' declarations and config are its seed, admins change it at run time.
  const accessStore = new SqlAccessStore(h);
  // The storage port: every store, and all-or-nothing writes across them (a command and its audit row,
  // an invite's use and the new account, an alert message and its outbox entry).
  // A write's announcements on the change feed go out once it committed (never before: a replica would reload the old state).
  const deferringAnnouncements: TransactionRunner = { run: (fn) => h.run(() => fn()), transaction: (fn) => changes.deferring(() => h.transaction(() => fn())) };
  const storage = storageOver(deferringAnnouncements, {
    audit,
    identities,
    oidcLinks,
    access: accessStore,
    wrongCodes,
    tokens: appTokens,
    pastes,
    repos: repoStore,
    crm,
    seats,
    inventory,
    events: eventStore,
    alerts: alertStore,
    escalations,
    bot: botStore,
    alertMessages,
    matrixLinks,
  });
  const access = new AccessControl(accessStore, { defaults: config.access.defaults, roles: config.roles }, changes);
  // A change on any replica (or a reconnect of the feed, which may have missed one) loads the snapshot again.
  changes.subscribe(TOPICS.access, () => access.load().catch((err: unknown) => log.error({ err }, 'reloading the access rules failed')));
  // Its snapshot of the stored roles and grants, before anything can ask (permission checks are synchronous).
  await access.load();
  // Delegated admin.users stays within its holder's rights; an account's rights include its linked keys' IdP group roles.
  const oidcGroupRoles = config.auth.oidc.enabled ? lookup(config.auth.oidc.groupRoles) : new Map<string, Role>();
  const delegation = new Delegation({ control: access, identities, initialAdminName: config.auth.initialAdminName, groupRoles: oidcGroupRoles });
  // Logins (keys, certificates) and the actor of every command, read from the store each time.
  const login = new LoginService(identities, config, log, { invitesOutstanding: () => accessStore.hasUsableInvite(clock.now()) });
  const registry = new Registry({
    log,
    clock,
    rolePermissions,
    permissions: access,
    audit,
    backends,
    observer: metrics,
    resolveActor: (actor) => login.current(actor),
    transaction: (fn) => storage.write(() => fn()),
  });
  // App tokens (CardDAV, git over HTTP) act as their user, checked at every request as commands are.
  const tokenActors = new TokenActors({ tokens: appTokens, identities, permissions: registry, clock });
  const publicUrl = (config.publicUrl ?? `http://${config.http.listen}`).replace(/\/+$/, '');
  // OIDC device-flow logins for keys labd does not know (auth.oidc); the IdP is asked on first use.
  const oidc = oidcPort
    ? new OidcLogin({
        port: oidcPort,
        identities,
        links: oidcLinks,
        config,
        audit,
        log,
        clock,
        permissions: access,
      })
    : undefined;
  const matrixBot = config.matrix.enabled
    ? matrixBotModule({
        config: config.matrix,
        registry,
        store: botStore,
        messages: alertMessages,
        transactions: storage,
        identities,
        links: matrixLinks,
        alerts,
        events,
        clock,
        log,
        // Replicas on one database: rows another replica queued are found within seconds.
        outboxIdlePollMs: sharedDataDir ? 2000 : undefined,
      })
    : undefined;
  // The CRM's daily reminders: a direct chat with the Matrix bot, and Apprise (crm.remindersApprise)
  // tagged with the user's name so the operator's Apprise config routes each user to their own services.
  const reminderChannels: ReminderChannel[] = [];
  if (matrixBot) reminderChannels.push({ name: 'matrix', send: (user, notice, o) => matrixBot.direct.send(user, notice, o) });
  if (reminderApprise) reminderChannels.push({ name: 'apprise', send: async (user, notice) => (await reminderApprise.notify({ ...notice, tag: user }), true) });

  // Modules: what each contributes (commands, routes, TUI screens, background jobs).
  const modules: LabdModule<TuiApp>[] = [
    metaModule({ version: VERSION }),
    auditModule({ audit }),
    identityModule({
      identities,
      initialAdmin: { name: config.auth.initialAdminName, keys: initialAdminFingerprints(config) },
      roles: { exists: (r) => access.roleExists(r), names: () => access.roleNames() },
      delegation,
      oidc,
    }),
    accessModule({
      control: access,
      store: accessStore,
      identities,
      signup: { policy: config.auth.signup, defaultRole: config.auth.defaultRole, initialAdminName: config.auth.initialAdminName },
      wrongCodes,
      delegation,
      transactions: storage,
    }),
    pasteModule({ registry, store: pastes, identities, config: config.paste, publicUrl, highlighter, clock, log }),
    pubsubModule({ broker }),
    gitModule({
      store: repoStore,
      tokens: appTokens,
      tokenActors,
      maxTokensPerUser: config.tokens.maxPerUser,
      identities,
      config: config.git,
      dataDir: config.dataDir,
      permissions: access,
      events,
      sshUrl: sshCloneBase(publicUrl, config.ssh.listen),
      publicUrl,
      highlighter,
      clock,
      log,
    }),
    tokensModule({ tokens: appTokens, publicUrl, maxPerUser: config.tokens.maxPerUser }),
    crmModule({ store: crm, tokenActors, registry, config: config.crm, clock, log, reminderChannels }),
    nodesModule({ kube, inventory, events, config: config.nodes, log }),
    deploysModule({ kube, events }),
    alertsModule({ service: alerts, config: config.alertmanager, backends, escalations, apprise: escalationApprise, clock, log }),
    seatsModule({ kube, seats, inventory, config: config.seats }),
  ];
  if (matrixBot) {
    modules.push(matrixLinksModule({ links: matrixLinks, clock, sshCommand: sshCommandFor(publicUrl, config.ssh.listen) }));
    modules.push(matrixBot);
  }

  await login.ensureInitialAdmin();

  const caBlobs = config.auth.userCaKeys ? loadCaKeys(config.auth.userCaKeys) : [];
  // step-ca (auth.stepCa.url): its published user CA keys, fetched now and every auth.stepCa.refresh, add to the file's.
  const stepCa = config.auth.stepCa.url ? await connectStepCa(config.auth.stepCa, clock, log, changes) : undefined;
  if (!caBlobs.length && !stepCa) log.warn('no trusted user CA keys (LABD_USER_CA_KEYS, LABD_STEPCA_URL): certificate logins are off');
  const trustedCa = unionCaKeys([staticCaKeys(caBlobs), ...(stepCa ? [stepCa] : [])]);
  const basePolicy: Omit<CertPolicy, 'trustedCaBlobs'> = {
    clockSkewSeconds: config.auth.clockSkew.seconds,
    maxLifetimeSeconds: config.auth.maxCertLifetime?.seconds,
    revokedSerials: new Set(config.auth.revokedSerials),
    revokedKeyIds: new Set(config.auth.revokedKeyIds),
  };

  // Front-ends, and the modules wired into them.
  let ready = false;
  const http = new HttpServer(log);
  // The pixiecore boot API has a listener of its own (nodes.bootListen): its answers carry join tokens.
  const bootHttp = new HttpServer(log);
  http.add(
    healthRoutes({
      storage: { ping: () => database.ping(), describe: () => `${database.dialect} ${database.where}` },
      metrics,
      isReady: () => ready,
      softChecks: (): Record<string, SoftCheck> => ({
        ...(stepCa ? { stepCa: stepCaCheck(stepCa.status()) } : {}),
        ...(pubsubPeers ? { nats: pubsubPeers.status() } : {}),
        ...(changes.engine !== 'local' ? { changes: changes.status() } : {}),
      }),
      role: () => roleOf(leadership),
    }),
  );
  const tui = new TuiHost(registry, log, config.ssh.hostname, config.ssh.homeRefresh.ms);
  for (const app of [...accountTuiApps, ...opsTuiApps]) tui.register(app);
  // The home screen's status strip reads the neutral backend status (configured, last check reached it).
  // While someone looks at it, a check older than two home refreshes (ssh.homeRefresh) is made again (one for all viewers).
  const homeStatusFreshMs = 2 * config.ssh.homeRefresh.ms;
  let probing: Promise<void> | undefined;
  const freshBackend = async (name: 'alertmanager' | 'matrix') => {
    const b = backends.get(name);
    if (b?.configured && (!b.checkedAt || clock.now().getTime() - b.checkedAt.getTime() > homeStatusFreshMs)) {
      probing ??= backends.probeAll(BACKEND_PROBE_TIMEOUT_MS / 2).finally(() => (probing = undefined));
      await probing;
    }
    return backendReading(backends.get(name));
  };
  tui.addStatus({ id: 'alertmanager', label: 'Alertmanager', permission: 'ops.read', read: () => freshBackend('alertmanager') });
  tui.addStatus({ id: 'matrix', label: 'Matrix', permission: 'ops.read', read: () => freshBackend('matrix') });
  tui.addStatus({ id: 'role', label: 'Role', permission: 'ops.read', read: async () => leaderReading(leadership) });
  for (const module of modules) access.declare(module.name, module.permissions ?? []);
  access.checkSeed();
  for (const module of modules) {
    for (const c of module.commands ?? [])
      if (c.permission !== 'authenticated' && !access.isDeclared(c.permission))
        throw new Error(`module ${module.name}: command '${c.path.join(' ')}' needs permission '${c.permission}', which no module declares`);
    registry.register(...(module.commands ?? []));
    http.add((module.routes ?? []).filter((r) => (r.listener ?? 'public') === 'public'));
    bootHttp.add((module.routes ?? []).filter((r) => r.listener === 'boot'));
    for (const screen of module.screens ?? []) tui.register(screen);
  }
  const jobs: Job[] = [
    ...modules.flatMap((m) => m.jobs ?? []),
    intervalJob('backend probes', BACKEND_PROBE_INTERVAL_MS, () => void backends.probeAll(BACKEND_PROBE_TIMEOUT_MS), true),
    ...(stepCa ? [stepCa.job()] : []),
  ];
  // Singleton jobs run while this replica is the leader; the others everywhere.
  const jobRunner = new JobRunner(jobs, leadership, log);
  jobRunner.start();
  leadership.start();

  registerStateMetrics(metrics, botStore, alertStore, backends, clock);
  metrics.gaugeFrom('labd_leader', 'Whether this replica is the leader and runs the singleton jobs (1) or not (0)', [], () => [
    { value: leadership.isLeader() ? 1 : 0 },
  ]);

  const hostKey = loadOrCreateHostKey(config.dataDir);
  const sshServer = new SshServer({
    registry,
    hostKey: hostKey.privateKey,
    authTimeoutMs: config.ssh.authTimeout.ms,
    maxTries: config.ssh.maxAuthTries,
    preAuth: { maxStartups: config.ssh.maxStartups, maxStartupsPerSource: config.ssh.maxStartupsPerSource },
    unackedLimit: config.ssh.unackedLimit,
    policy: () => ({ ...basePolicy, trustedCaBlobs: trustedCa.blobs() }),
    anonymousGit: config.git.anonAccess !== 'no-access',
    login,
    oidc,
    log,
    metrics,
    now: () => clock.now(),
    tui,
    version: VERSION,
  });

  // An account change on any replica (or a reconnect of the feed) checks the open connections now, not at the next sweep.
  changes.subscribe(TOPICS.accounts, () => sshServer.sweepNow());
  // Another replica saw step-ca's user CA keys change (or the feed reconnected): fetch them now, then check the connections.
  if (stepCa)
    changes.subscribe(TOPICS.trust, (c) => {
      if (c.local) sshServer.sweepNow();
      else void stepCa.refresh().then(() => sshServer.sweepNow());
    });

  const sshListen = splitListen(config.ssh.listen);
  const httpListen = splitListen(config.http.listen);
  const sshAddr = await sshServer.listen(sshListen.host, sshListen.port);
  const httpAddr = await http.listen(httpListen.host, httpListen.port);
  let bootAddr: { address: string; port: number } | undefined;
  if (config.nodes.bootListen) {
    const bootListen = splitListen(config.nodes.bootListen);
    bootAddr = await bootHttp.listen(bootListen.host, bootListen.port);
    log.info({ boot: `${bootAddr.address}:${bootAddr.port}`, allow: config.nodes.bootAllow }, 'pixiecore boot API listening');
  }
  ready = true;
  log.info(
    {
      ssh: `${sshAddr.address}:${sshAddr.port}`,
      http: `${httpAddr.address}:${httpAddr.port}`,
      hostKey: hostKey.fingerprint,
      sshCrypto: sshCryptoPath(),
      version: VERSION,
      dataDir: config.dataDir,
      database: database.where,
    },
    'labd listening',
  );

  return {
    config,
    log,
    database,
    registry,
    ssh: { host: sshAddr.address, port: sshAddr.port },
    http: { host: httpAddr.address, port: httpAddr.port },
    boot: bootAddr ? { host: bootAddr.address, port: bootAddr.port } : undefined,
    leadership,
    async stop() {
      ready = false;
      // Before anything closes under them: TUI clients get their terminal back and the reason.
      await tui.closeAll('labd is restarting');
      // The singleton jobs stop before the Lease or lock is released: the next leader never overlaps them.
      await jobRunner.stop();
      await leadership.stop();
      await Promise.race([Promise.all([sshServer.close(), http.close(), ...(bootAddr ? [bootHttp.close()] : [])]), new Promise((r) => setTimeout(r, 5000))]);
      await pubsubPeers?.close();
      await changes.close();
      await highlighter.close();
      await database.close();
    },
  };
}
