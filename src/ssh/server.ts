import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import ssh2, { type Connection, type ServerChannel, type Session } from 'ssh2';
import type { Actor } from '../core/actor.ts';
import { errorKind, publicMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Registry } from '../ops/registry.ts';
import { PermissionDenied } from '../core/errors.ts';
import { fingerprint } from '../core/sshwire/keys.ts';
import { stripControl } from '../core/terminal-text.ts';
import { accountDisabledText, type AccountStanding } from '../ops/identity/login.ts';
import { unlinkedRoute } from '../ops/identity/unlinked.ts';
import { ConnectionAuth, keyGrant, type AuthDeps, type SessionGrant } from './auth.ts';
import { EXIT_CODES, runExecCommand } from './exec.ts';
import { watchExpiry, type ExpiryWatch } from './expiry.ts';
import { ConnectionFlow, type UnackedSetting } from './flow-control.ts';
import { PreAuthGate, sourceKey, ThrottledLog, type PreAuthLimits } from './preauth.ts';
import type { TuiHost } from './tui/host.ts';

export interface SshServerDeps extends AuthDeps {
  registry: Registry;
  hostKey: string;
  /** Time from accept to authenticated (sshd's LoginGraceTime): silent and slow sockets are closed. */
  authTimeoutMs: number;
  preAuth: PreAuthLimits;
  /** Channel output left unacknowledged to OpenSSH clients (src/ssh/flow-control.ts). */
  unackedLimit?: UnackedSetting;
  tui: TuiHost;
  version: string;
}

export interface PtyInfo {
  term: string;
  cols: number;
  rows: number;
}

const MAX_SESSIONS_PER_CONNECTION = 10;

/** An authenticated connection: whom it stands for now (a device-flow login in a session changes that) and its credential's watch. */
interface ConnectionState {
  grant: SessionGrant;
  expiry?: ExpiryWatch;
}
/** How often open connections are checked for users that were removed (whose connections then close). */
const ACCOUNT_SWEEP_MS = 1000;
/** How long a disabled account's connection stays, for its sessions to be told why. */
const REFUSED_CONNECTION_MS = 10_000;
/** How long sessions whose credential expired have to say so and close before the connection is ended. */
const EXPIRY_CLOSE_GRACE_MS = 3000;
/**
 * Why a session's command is told to stop (the client left, sent a signal, or its credential expired):
 * one reason for all, made once, since `abort()` without one builds a DOMException with its stack on
 * every channel's close.
 */
const SESSION_ENDED = new DOMException('the session ended', 'AbortError');

/** The SSH front door: authentication, then exec → registry, PTY shell → TUI. */
export class SshServer {
  /** ssh2's server only speaks SSH on the sockets this listener accepts and admits. */
  private readonly listener: NetServer;
  private readonly server: ssh2.Server;
  private readonly connections = new Set<Connection>();
  /** Authenticated connections and whom they stand for. */
  private readonly grants = new Map<Connection, ConnectionState>();
  private readonly sweepTimer: NodeJS.Timeout;
  /** Sockets accepted and not yet authenticated: their place in the gate and their grace timer. */
  private readonly unauthenticated = new Map<Socket, { release: () => void; timer: NodeJS.Timeout }>();
  private readonly gate: PreAuthGate;
  private readonly refusalLog: ThrottledLog;

  constructor(private readonly deps: SshServerDeps) {
    this.gate = new PreAuthGate(deps.preAuth);
    this.refusalLog = new ThrottledLog(1000, (fields) =>
      deps.log.warn(fields, 'refused a connection before the handshake: too many unauthenticated connections'),
    );
    this.server = new ssh2.Server({ hostKeys: [deps.hostKey], ident: `labd_${deps.version}` }, (client, info) =>
      this.onConnection(client, info.ip, info.header.versions.software),
    );
    this.server.on('error', (err: Error) => deps.log.error({ err }, 'ssh server error'));
    // TCP_NODELAY on every accepted socket, as sshd sets it: ssh2 writes one packet in several
    // write() calls on its JavaScript cipher path (no native binding for this Node), and with Nagle on,
    // the rest of each packet waited for the client's delayed ACK (40 ms gaps, six per login).
    this.listener = createServer({ noDelay: true }, (socket) => this.onAccept(socket));
    this.listener.on('error', (err: Error) => deps.log.error({ err }, 'ssh listener error'));
    this.sweepTimer = setInterval(() => {
      void this.closeRemovedAccounts();
      this.closeUntrustedCas();
    }, ACCOUNT_SWEEP_MS);
    this.sweepTimer.unref();
  }

  /**
   * Checks the open connections now rather than at the next sweep: an account or trust change was
   * announced (the change feed, from this replica or another one).
   */
  sweepNow(): void {
    // Keys are checked only then: they change only through labd, which announces it.
    this.checkKeys = true;
    // A sweep under way may have read the account before the change: it runs once more.
    if (this.sweeping) this.sweepAgain = true;
    void this.closeRemovedAccounts();
    this.closeUntrustedCas();
  }

  /** Ends the connections of users that no longer exist (`user rm`) or were disabled, every session told why. */
  private async closeRemovedAccounts(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      do {
        this.sweepAgain = false;
        const keys = this.checkKeys;
        this.checkKeys = false;
        // A sweep the store failed: the keys are checked at the next one.
        if (!(await this.sweepRemovedAccounts(keys)) && keys) this.checkKeys = true;
      } while (this.sweepAgain);
    } finally {
      this.sweeping = false;
    }
  }

  /** Set while a sweep runs: the next one waits its turn (a slow store does not pile sweeps up). */
  private sweeping = false;
  /** A change was announced while a sweep ran: that sweep runs once more when it is done. */
  private sweepAgain = false;
  /** The next sweep also checks that each plain key a connection logged in with is still its user's. */
  private checkKeys = false;

  /** False when the store failed (the sweep stopped there). */
  private async sweepRemovedAccounts(checkKeys: boolean): Promise<boolean> {
    // The store is asked once per user (and per key) and sweep, not per connection: one user may hold
    // thousands, and each sweep would otherwise read the store that many times a second.
    const standings = new Map<number | null, AccountStanding>();
    const keysHeld = new Map<string, boolean>();
    const keyId = (actor: Actor) => `${actor.userId} ${actor.credential?.kind === 'key' ? actor.credential.fingerprint : ''}`;
    try {
      for (const { grant } of this.grants.values()) {
        // A disabled account's own connection only tells its sessions so; they end by themselves.
        if (grant.refusal !== undefined) continue;
        const { actor } = grant;
        if (!standings.has(actor.userId)) standings.set(actor.userId, await this.deps.login.standing(actor));
        if (checkKeys && standings.get(actor.userId) === 'active' && !keysHeld.has(keyId(actor)))
          keysHeld.set(keyId(actor), await this.deps.login.keyHeld(actor));
      }
    } catch (err) {
      this.deps.log.warn({ err }, 'checking open connections failed');
      return false;
    }
    for (const [client, conn] of [...this.grants]) {
      const { grant } = conn;
      if (grant.refusal !== undefined) continue;
      // A connection that authenticated (or changed user) during the look-ups waits for the next sweep.
      const standing = standings.get(grant.actor.userId);
      if (standing === undefined) continue;
      const keyHeld = keysHeld.get(keyId(grant.actor)) ?? true;
      if (!keyHeld) {
        const fp = grant.actor.credential?.kind === 'key' ? grant.actor.credential.fingerprint : '';
        const reason = `key removed: the key this connection logged in with (${fp}) no longer belongs to '${grant.actor.name}'`;
        this.closeConnection(client, grant, conn.expiry ? conn.expiry.end(reason) : Promise.resolve(), {
          message: 'closing a connection: its key was removed',
          command: 'session close',
          args: { credential: 'key', fingerprint: fp, reason: 'key removed' },
        });
        continue;
      }
      if (standing === 'active') continue;
      const reason = standing === 'disabled' ? accountDisabledText() : `account removed: '${grant.actor.name}' no longer exists`;
      const closing = conn.expiry ? conn.expiry.end(reason) : Promise.resolve();
      this.closeConnection(client, grant, closing, {
        message: `closing the connection of a ${standing} user`,
        command: 'session close',
        args: { reason: `account ${standing}` },
      });
    }
    return true;
  }

  /**
   * Ends the connections that logged in with a certificate of a CA labd no longer trusts (step-ca's
   * roots rotated it out): every session is told why, the closing is logged and audited, as an expiry.
   */
  private closeUntrustedCas(): void {
    let trusted: Set<string> | undefined;
    for (const [client, conn] of this.grants) {
      const ca = conn.grant.caFingerprint;
      if (!ca) continue;
      try {
        trusted ??= new Set(this.deps.policy().trustedCaBlobs.map((blob) => fingerprint(blob)));
      } catch (err) {
        this.deps.log.warn({ err }, 'checking the CAs of open connections failed');
        return;
      }
      if (trusted.has(ca)) continue;
      const reason = `the CA that signed your certificate (${ca}) is no longer trusted: session closed; log in again with a current certificate`;
      const closing = conn.expiry ? conn.expiry.end(reason) : Promise.resolve();
      this.closeConnection(client, conn.grant, closing, {
        message: "closing a connection: its certificate's CA is no longer trusted",
        command: 'session close',
        args: { credential: 'certificate', ca, reason: 'CA no longer trusted' },
      });
    }
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(port, host, () => {
        this.listener.off('error', reject);
        resolve(this.listener.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting, then ends every connection. */
  close(): Promise<void> {
    clearInterval(this.sweepTimer);
    return new Promise((resolve) => {
      this.listener.close(() => resolve());
      for (const socket of this.unauthenticated.keys()) socket.destroy();
      for (const c of this.connections) c.end();
    });
  }

  /**
   * sshd's MaxStartups and LoginGraceTime, at accept: a connection over the caps is closed before
   * labd sends a byte, and every admitted one must authenticate within the grace time counted from
   * now (not from its identification line, which a silent socket never sends).
   */
  private onAccept(socket: Socket): void {
    const { log, metrics } = this.deps;
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    const source = sourceKey(socket.remoteAddress);
    const place = this.gate.admit(source);
    if (!place.ok) {
      metrics.preauthRejected.inc({ reason: place.reason });
      this.refusalLog.note({ remote: source, reason: place.reason, held: this.gate.held });
      socket.destroy();
      return;
    }
    metrics.preauthConnections.set(this.gate.held);
    const timer = setTimeout(() => {
      metrics.preauthTimeouts.inc();
      log.info({ remote: source }, 'authentication timed out');
      socket.destroy();
    }, this.deps.authTimeoutMs);
    this.unauthenticated.set(socket, { release: place.release, timer });
    socket.once('close', () => this.authenticatedOrGone(socket));
    this.server.injectSocket(socket);
  }

  /**
   * A device-flow login waits for the person at the IdP: the connection's grace time lasts until the
   * code expires (bounded by auth.oidc.maxCodeLifetime), plus the usual grace for what follows.
   */
  private extendGrace(socket: Socket, until: Date): void {
    const entry = this.unauthenticated.get(socket);
    if (!entry) return;
    clearTimeout(entry.timer);
    const ms = Math.max(until.getTime() - this.deps.now().getTime(), 0) + this.deps.authTimeoutMs;
    entry.timer = setTimeout(() => {
      this.deps.metrics.preauthTimeouts.inc();
      this.deps.log.info({ remote: sourceKey(socket.remoteAddress) }, 'authentication timed out');
      socket.destroy();
    }, ms);
  }

  /** The socket leaves the pre-auth count: it authenticated, or it closed. */
  private authenticatedOrGone(socket: Socket): void {
    const entry = this.unauthenticated.get(socket);
    if (!entry) return;
    this.unauthenticated.delete(socket);
    clearTimeout(entry.timer);
    entry.release();
    this.deps.metrics.preauthConnections.set(this.gate.held);
  }

  private onConnection(client: Connection, remoteIp: string, peerSoftware: string): void {
    const { log, metrics } = this.deps;
    const socket = (client as unknown as { _sock: Socket })._sock;
    let flow: ConnectionFlow;
    try {
      flow = new ConnectionFlow(
        client,
        (kind, detail) => {
          metrics.flowViolations.inc({ kind });
          log.warn({ remote: remoteIp, ...detail }, 'peer sent data beyond the channel window: connection closed');
          socket.destroy();
        },
        {
          peerSoftware,
          unacked: this.deps.unackedLimit ?? 'auto',
          onRoundTrip: (ms) => log.debug({ remote: remoteIp, roundTripMs: Math.round(ms * 100) / 100 }, 'ssh round trip measured'),
          onLimitLifted: () => metrics.unackedLimitLifted.inc(),
        },
      );
    } catch (err) {
      // Without flow control a peer could grow labd's memory without bound: refuse to serve.
      log.error({ err }, 'SSH flow control unavailable');
      client.on('error', () => undefined);
      socket.destroy();
      return;
    }
    this.connections.add(client);
    metrics.connectionsActive.inc();
    const auth = new ConnectionAuth(
      this.deps,
      remoteIp,
      () => client.end(),
      (until) => this.extendGrace(socket, until),
    );
    let conn: ConnectionState | undefined;
    client.on('authentication', (ctx) => auth.handle(ctx));
    client.on('ready', () => {
      this.authenticatedOrGone(socket);
      const grant = auth.grant;
      // An attempt answered after the connection closed (the store answers asynchronously) grants nothing.
      if (!grant || !this.connections.has(client)) return client.end();
      const state: ConnectionState = { grant };
      conn = state;
      this.grants.set(client, state);
      state.expiry = this.watchCredential(client, grant);
      // A disabled account's connection is there to say so in its sessions, not to be held open.
      if (grant.refusal !== undefined) setTimeout(() => client.end(), REFUSED_CONNECTION_MS).unref();
      let sessions = 0;
      client.on('session', (accept, reject) => {
        if (sessions >= MAX_SESSIONS_PER_CONNECTION) return reject();
        sessions++;
        const session = accept();
        this.onSession(session, state, () => sessions--, client, flow);
      });
      client.on('tcpip', (_accept, reject) => reject());
      client.on('openssh.streamlocal', (_accept, reject) => reject());
      client.on('request', (_accept, reject) => reject?.());
    });
    client.on('error', (err) => log.debug({ err: err.message, remote: remoteIp }, 'ssh connection error'));
    client.on('close', () => {
      auth.close();
      conn?.expiry?.cancel();
      this.connections.delete(client);
      this.grants.delete(client);
      metrics.connectionsActive.dec();
    });
  }

  /**
   * A session ends with its credential: a minute before, open sessions are warned; at the expiry
   * each is told why and closed, the closing logged and audited, and the connection ended. A linked
   * key that `login` linked again meanwhile lasts until its new expiry (asked before warning and closing).
   */
  private watchCredential(client: Connection, grant: SessionGrant): ExpiryWatch {
    const credentialName = grant.credentialName ?? 'credential';
    const cred = grant.actor.credential;
    const userId = grant.actor.userId;
    const renewable = cred?.kind === 'key' && userId !== null && grant.credentialExpiresAt !== undefined;
    return watchExpiry({
      expiresAt: grant.credentialExpiresAt,
      credentialName,
      now: this.deps.now,
      renewed: renewable ? () => this.deps.login.linkExpiry(cred.fingerprint, userId, this.deps.now()) : undefined,
      onRenewed: (until) =>
        this.deps.log.info(
          { user: grant.actor.name, remote: grant.actor.remoteAddress, credential: credentialName, expiresAt: until?.toISOString() ?? null },
          `an open connection's ${credentialName} was renewed: it lasts until then`,
        ),
      onExpired: (reason, closing, expiredAt) =>
        this.closeConnection(client, grant, closing, {
          message: `closing a connection: its ${credentialName} expired`,
          command: 'session expire',
          args: { credential: credentialName, expiredAt: expiredAt.toISOString() },
        }),
    });
  }

  /** Logs and audits why a connection is closed by labd, then ends it once its sessions had their say (at most a few seconds). */
  private closeConnection(
    client: Connection,
    grant: SessionGrant,
    closing: Promise<void>,
    why: { message: string; command: string; args: Record<string, unknown> },
  ): void {
    const { log, registry } = this.deps;
    log.info({ user: grant.actor.name, remote: grant.actor.remoteAddress, ...why.args }, why.message);
    void registry.services.audit
      .record({ at: this.deps.now(), actor: grant.actor, command: why.command, args: why.args, outcome: 'ok', durationMs: 0 })
      .catch((err: unknown) => log.error({ err }, 'could not write the audit row'));
    this.grants.delete(client);
    let timer: NodeJS.Timeout | undefined;
    void Promise.race([closing, new Promise((r) => (timer = setTimeout(r, EXPIRY_CLOSE_GRACE_MS)))]).then(() => {
      clearTimeout(timer);
      client.end();
    });
  }

  /**
   * The device-flow login in a session of an unlinked key (OIDC and anonymous git both on): the URL, code
   * and QR code go to the session's stderr (its terminal), as `login` shows them; once the IdP confirmed,
   * the connection stands for the user the key is now linked to. False (the session told why and ended)
   * when the login failed or the client went away.
   */
  private async linkInSession(client: Connection, conn: ConnectionState, channel: ServerChannel, terminal: boolean, signal: AbortSignal): Promise<boolean> {
    const key = conn.grant.unlinked;
    const oidc = this.deps.oidc;
    // Another session on this connection linked the key meanwhile.
    if (!key || !oidc) return true;
    const remote = conn.grant.actor.remoteAddress;
    const eol = terminal ? '\r\n' : '\n';
    const say = (line: string) => {
      if (!channel.destroyed) channel.stderr.write(stripControl(line) + eol);
    };
    try {
      const linked = await oidc.login(key, { surface: 'ssh', remoteAddress: remote, qr: terminal, progress: say, signal });
      if (signal.aborted) return false;
      // As a fresh login of the key would see it (its group role, the ssh user name rule).
      const outcome = await this.deps.login.byKey(key.fingerprint, key.sshUser, this.deps.now());
      if (!outcome.ok) throw new PermissionDenied(`login refused: ${outcome.reason}`);
      if (conn.grant.unlinked) {
        const grant = keyGrant(outcome, key.fingerprint, remote ?? '');
        conn.grant = grant;
        conn.expiry?.cancel();
        conn.expiry = this.watchCredential(client, grant);
      }
      this.deps.log.info({ user: outcome.user.name, fingerprint: key.fingerprint, remote }, 'unlinked key logged in with OIDC in its session');
      say(
        `Logged in as ${outcome.user.name} (${outcome.role})${linked.created ? ', a new account' : ''}. This key is linked until ${linked.expiresAt.toISOString()}.`,
      );
      return true;
    } catch (err) {
      if (signal.aborted) return false;
      say(`error: ${publicMessage(err)}`);
      if (!channel.destroyed) {
        channel.exit(EXIT_CODES[errorKind(err)]);
        channel.end();
      }
      return false;
    }
  }

  private onSession(session: Session, conn: ConnectionState, onClose: () => void, client: Connection, flow: ConnectionFlow): void {
    const { log, metrics } = this.deps;
    /** Its place in the expiry watch, once it runs something. */
    let unwatch: (() => void) | undefined;
    let pty: PtyInfo | undefined;
    const env: Record<string, string> = {};
    let started = false;
    let resize: ((cols: number, rows: number) => void) | undefined;
    const abort = new AbortController();
    // ssh2 reports a channel's close only after its stdin was read to the end; a command that never
    // reads stdin (sub, a waiting pub) must still learn that the client went away.
    const onConnectionClose = () => abort.abort(SESSION_ENDED);
    client.once('close', onConnectionClose);

    session.on('pty', (accept, reject, info) => {
      if (!conn.grant.permitPty) return reject?.();
      pty = { term: info.term || 'xterm', cols: info.cols || 80, rows: info.rows || 24 };
      accept?.();
    });
    session.on('window-change', (accept, _reject, info) => {
      if (pty) {
        pty.cols = info.cols;
        pty.rows = info.rows;
        resize?.(info.cols, info.rows);
      }
      accept?.();
    });
    session.on('env', (accept, reject, info) => {
      // GIT_PROTOCOL: git's protocol v2 is asked for through it (the git commands check its value).
      if (/^(NO_COLOR|TERM|LANG|LC_[A-Z]+|GIT_PROTOCOL)$/.test(info.key) && Object.keys(env).length < 32) {
        env[info.key] = String(info.val).slice(0, 256);
        accept?.();
      } else reject?.();
    });
    session.on('subsystem', (_accept, reject) => reject());
    session.on('x11', (_accept, reject) => reject());
    session.on('auth-agent', (_accept, reject) => reject?.());
    session.on('signal', (accept) => {
      accept?.();
      abort.abort(SESSION_ENDED);
    });

    /** The actor as the store says now (a new session on an open connection sees a role change); undefined when the user is gone. */
    const currentActor = async (channel: ServerChannel, actor: Actor = conn.grant.actor): Promise<Actor | undefined> => {
      try {
        return await this.deps.login.current(actor);
      } catch (err) {
        channel.stderr.write(`error: ${publicMessage(err)}${pty ? '\r\n' : '\n'}`);
        channel.exit(errorKind(err) === 'permission' ? 3 : 1);
        channel.end();
        return undefined;
      }
    };

    const startExec = async (channel: ServerChannel, commandLine: string, kind: string, as?: Actor) => {
      const expiry = conn.expiry;
      const current = await currentActor(channel, as);
      if (!current) return;
      metrics.sessionsActive.inc({ kind });
      const actor = { ...current, via: 'ssh' as const };
      channel.on('error', () => abort.abort(SESSION_ENDED));
      channel.on('close', () => abort.abort(SESSION_ENDED));
      const io = {
        stdin: channel,
        stdout: channel,
        stderr: channel.stderr,
        isTerminal: pty !== undefined,
        env,
        bulkOutput: () => flow.limitUnacknowledged(channel),
      };
      const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
      /** Ended by its credential's expiry: whatever the command made of the abort, it did not finish. */
      let expired = false;
      unwatch = expiry?.add({
        warn: (text) => {
          if (!channel.destroyed) channel.stderr.write(`${pty ? '\r\n' : ''}labd: ${text}${pty ? '\r\n' : '\n'}`);
        },
        expire: (reason) => {
          expired = true;
          if (!channel.destroyed) channel.stderr.write(`${pty ? '\r\n' : ''}labd: ${reason}${pty ? '\r\n' : '\n'}`);
          abort.abort(SESSION_ENDED);
          return closed;
        },
      });
      runExecCommand(this.deps.registry, actor, commandLine, io, abort.signal)
        .catch((err) => {
          log.error({ err }, 'exec crashed');
          return 1;
        })
        .then((code) => {
          metrics.sessionsActive.dec({ kind });
          if (!channel.destroyed) {
            channel.exit(expired && code === 0 ? 1 : code);
            channel.end();
          }
        });
    };

    const startTui = async (channel: ServerChannel, startApp?: string) => {
      const current = await currentActor(channel);
      if (!current) return;
      if (current.credential?.kind === 'newcomer') {
        channel.stderr.write('this key has no account yet: sign up with  ssh HOST join CODE  (ask an admin for an invite)\r\n');
        channel.exit(1);
        channel.end();
        return;
      }
      metrics.sessionsActive.inc({ kind: 'tui' });
      try {
        const handle = this.deps.tui.open({
          channel,
          actor: { ...current, via: 'tui' },
          pty: pty!,
          env,
          onExit: () => metrics.sessionsActive.dec({ kind: 'tui' }),
          startApp,
        });
        resize = handle.resize;
        unwatch = conn.expiry?.add({ warn: (text) => handle.warn(text), expire: (reason) => handle.shutdown(reason) });
      } catch (err) {
        log.error({ err }, 'TUI failed to start');
        metrics.sessionsActive.dec({ kind: 'tui' });
        channel.stderr.write('error: the terminal UI failed to start\n');
        channel.exit(1);
        channel.end();
      }
    };

    /**
     * A newcomer (a key with no account, let in to `join`) on a lab with anonymous git: git's fetches run
     * as anonymous, as for any keyless client, instead of being refused for want of an account. Not once
     * the key has joined on this connection: then it is its user.
     */
    const newcomerAsAnonymous = async (commandLine: string): Promise<Actor | undefined> => {
      const { actor } = conn.grant;
      if (!this.deps.anonymousGit || actor.credential?.kind !== 'newcomer') return undefined;
      const { fingerprint, publicKey } = actor.credential;
      // A failed look-up goes the usual way, where the session reports it.
      const current = await this.deps.login.current(actor).catch(() => undefined);
      if (current?.credential?.kind !== 'newcomer') return undefined;
      const key = { fingerprint, publicKey, algo: publicKey.split(' ')[0] ?? '' };
      const route = unlinkedRoute(this.deps.registry, key, { commandLine, mayJoin: true, remoteAddress: actor.remoteAddress });
      return route.kind === 'anonymous' ? route.actor : undefined;
    };

    /**
     * An unlinked key's session (ops/identity/unlinked.ts): a git fetch runs as anonymous and `join` as a
     * newcomer at once; anything else logs in with OIDC in the session first, then `go` runs as the user.
     */
    const unlinkedFirst = (channel: ServerChannel, commandLine: string | undefined, go: () => void): void => {
      // A store that fails while the session is routed ends that session with the error, as a command's would.
      routeUnlinked(channel, commandLine, go).catch((err: unknown) => {
        log.error({ err }, 'routing a session failed');
        if (channel.destroyed) return;
        channel.stderr.write(`error: ${publicMessage(err)}\n`);
        channel.exit(EXIT_CODES[errorKind(err)]);
        channel.end();
      });
    };
    const routeUnlinked = async (channel: ServerChannel, commandLine: string | undefined, go: () => void): Promise<void> => {
      const key = conn.grant.unlinked;
      if (!key) {
        const anonymous = commandLine !== undefined ? await newcomerAsAnonymous(commandLine) : undefined;
        return anonymous ? void startExec(channel, commandLine!, 'exec', anonymous) : go();
      }
      const route = unlinkedRoute(this.deps.registry, key, {
        commandLine,
        mayJoin: await this.deps.login.mayJoin(key.fingerprint),
        remoteAddress: conn.grant.actor.remoteAddress,
        loginName: key.sshUser,
      });
      if (route.kind !== 'login') return void startExec(channel, commandLine ?? '', 'exec', route.actor);
      void this.linkInSession(client, conn, channel, pty !== undefined, abort.signal).then((linked) => {
        if (!linked) return;
        if (route.then) return go();
        channel.exit(0);
        channel.end();
      });
    };

    /** A disabled account's connection (SessionGrant.refusal): every session says why and ends, as under sshd's nologin. */
    const refused = (channel: ServerChannel): boolean => {
      const { refusal } = conn.grant;
      if (refusal === undefined) return false;
      channel.stderr.write(`error: ${refusal}${pty ? '\r\n' : '\n'}`);
      channel.exit(EXIT_CODES.permission);
      channel.end();
      return true;
    };

    session.on('exec', (accept, reject, info) => {
      if (started) return reject?.();
      started = true;
      const channel = accept();
      flow.pace(channel);
      if (refused(channel)) return;
      unlinkedFirst(channel, info.command, () => {
        const grant = conn.grant;
        // `ssh -t HOST crm`: a bare app name with a terminal opens that app's screen.
        const word = info.command.trim();
        if (grant.forceCommand === undefined && pty && grant.permitPty && /^[a-z]+$/.test(word) && this.deps.tui.appFor(word, grant.actor))
          return void startTui(channel, word);
        void startExec(channel, grant.forceCommand ?? info.command, 'exec');
      });
    });
    session.on('shell', (accept, reject) => {
      if (started) return reject?.();
      started = true;
      const channel = accept();
      flow.pace(channel);
      if (refused(channel)) return;
      const grant = conn.grant;
      if (grant.forceCommand !== undefined) return void startExec(channel, grant.forceCommand, 'exec');
      if (!pty) {
        const reason = grant.permitPty
          ? 'no terminal: run ssh with -t for the menu, or give a command'
          : 'your certificate does not permit a terminal (permit-pty); give a command instead';
        channel.stderr.write(`error: ${reason}\n`);
        channel.exit(1);
        channel.end();
        return;
      }
      unlinkedFirst(channel, undefined, () => void startTui(channel));
    });
    session.on('close', () => {
      unwatch?.();
      client.off('close', onConnectionClose);
      abort.abort(SESSION_ENDED);
      onClose();
    });
  }
}
