import { parseDuration } from './core/duration.ts';
import { createLogger, type Logger } from './core/logger.ts';
import { Metrics } from './core/metrics.ts';
import { DEFAULT_ROLE_PERMISSIONS, type RolePermissions } from './core/permissions.ts';
import { systemClock } from './core/clock.ts';
import type { Config } from './config/schema.ts';
import { migrateDb, openDb, type Db } from './db/client.ts';
import { registerHealthRoutes } from './http/health.ts';
import { HttpServer } from './http/server.ts';
import { auditLs } from './ops/audit/commands.ts';
import { identityCommands } from './ops/identity/commands.ts';
import { LoginService } from './ops/identity/login.ts';
import { IdentityStore } from './ops/identity/store.ts';
import { help, version } from './ops/meta/commands.ts';
import { Registry } from './ops/registry.ts';
import { loadCaKeys } from './ssh/ca-keys.ts';
import type { CertPolicy } from './ssh/cert-check.ts';
import { loadOrCreateHostKey } from './ssh/hostkey.ts';
import { SshServer } from './ssh/server.ts';
import { accountTuiApps } from './ssh/tui/admin.ts';
import { TuiHost } from './ssh/tui/host.ts';
import { opsTuiApps } from './ssh/tui/ops/index.ts';
import { VERSION } from './version.ts';
import { APPS, type AppHost } from './apps/index.ts';
import { startMatrixBot } from './bot/index.ts';
import { alertsFor } from './ops/alerts/index.ts';

export interface Labd {
  config: Config;
  log: Logger;
  db: Db;
  registry: Registry;
  ssh: { host: string; port: number };
  http: { host: string; port: number };
  stop(): Promise<void>;
}

function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}

/** The composition root: builds the adapters, hands them to ops, starts the front-ends. */
export async function startLabd(config: Config, log: Logger = createLogger(config.log.level)): Promise<Labd> {
  const db = openDb(config.dataDir);
  migrateDb(db);
  const metrics = new Metrics();
  const rolePermissions: RolePermissions = { ...DEFAULT_ROLE_PERMISSIONS, ...config.roles };
  const registry = new Registry({ config, db, log, clock: systemClock, rolePermissions, version: VERSION });
  registry.setObserver(metrics);
  registry.register(help, version, auditLs, ...identityCommands);

  const login = new LoginService(new IdentityStore(db), config, log);
  login.ensureInitialAdmin();

  const caBlobs = config.auth.userCaKeys ? loadCaKeys(config.auth.userCaKeys) : [];
  if (!caBlobs.length) log.warn('no trusted user CA keys (LABD_USER_CA_KEYS): certificate logins are off');
  const policy: CertPolicy = {
    trustedCaBlobs: caBlobs,
    clockSkewSeconds: parseDuration(config.auth.clockSkew),
    maxLifetimeSeconds: config.auth.maxCertLifetime ? parseDuration(config.auth.maxCertLifetime) : undefined,
    revokedSerials: new Set(config.auth.revokedSerials),
    revokedKeyIds: new Set(config.auth.revokedKeyIds),
  };

  let ready = false;
  const http = new HttpServer(log);
  registerHealthRoutes(http, { db, metrics, isReady: () => ready });

  const tui = new TuiHost(registry, log, config.ssh.hostname);
  for (const app of [...accountTuiApps, ...opsTuiApps]) tui.register(app);

  const stopHooks: (() => void | Promise<void>)[] = [];
  const host: AppHost = {
    services: registry.services,
    registry,
    tui,
    http,
    publicUrl: (config.publicUrl ?? `http://${config.http.listen}`).replace(/\/+$/, ''),
    onStop: (fn) => stopHooks.push(fn),
  };
  for (const app of APPS) app.install(host);
  const bot = config.matrix.enabled ? startMatrixBot({ config: config.matrix, registry, db, log }) : undefined;
  if (bot) stopHooks.push(() => bot.stop());
  // The home screen's status strip: Alertmanager answering (a read-only call), the bot connected.
  const alertmanager = alertsFor(registry.services).am;
  tui.addStatus({
    id: 'alertmanager',
    label: 'Alertmanager',
    permission: 'ops.read',
    read: async (signal) => {
      if (!config.alertmanager.enabled) return { level: 'off', text: 'not configured' };
      await alertmanager.listSilences(undefined, signal);
      return { level: 'ok', text: 'reachable' };
    },
  });
  tui.addStatus({
    id: 'matrix',
    label: 'Matrix',
    permission: 'ops.read',
    read: async () => (!bot ? { level: 'off', text: 'not configured' } : bot.connected() ? { level: 'ok', text: 'connected' } : { level: 'bad', text: 'connecting' }),
  });

  const hostKey = loadOrCreateHostKey(config.dataDir);
  const sshServer = new SshServer({
    registry,
    hostKey: hostKey.privateKey,
    authTimeoutMs: parseDuration(config.ssh.authTimeout) * 1000,
    maxTries: config.ssh.maxAuthTries,
    policy: () => policy,
    login,
    log,
    metrics,
    now: () => systemClock.now(),
    tui,
    version: VERSION,
  });


  const sshListen = splitListen(config.ssh.listen);
  const httpListen = splitListen(config.http.listen);
  const sshAddr = await sshServer.listen(sshListen.host, sshListen.port);
  const httpAddr = await http.listen(httpListen.host, httpListen.port);
  ready = true;
  log.info({ ssh: `${sshAddr.address}:${sshAddr.port}`, http: `${httpAddr.address}:${httpAddr.port}`, hostKey: hostKey.fingerprint, version: VERSION, dataDir: config.dataDir }, 'labd listening');

  return {
    config,
    log,
    db,
    registry,
    ssh: { host: sshAddr.address, port: sshAddr.port },
    http: { host: httpAddr.address, port: httpAddr.port },
    async stop() {
      ready = false;
      for (const fn of stopHooks) await fn();
      await Promise.race([Promise.all([sshServer.close(), http.close()]), new Promise((r) => setTimeout(r, 5000))]);
      db.$client.close();
    },
  };
}
