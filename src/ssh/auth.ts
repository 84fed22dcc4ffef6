import type { AuthContext, AuthenticationType } from 'ssh2';
import type { Actor } from '../core/actor.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { isCertAlgorithm } from '../core/sshwire/cert.ts';
import { fingerprint, formatPublicKey, parsePublicKeyBlob, verifySshSignature, signatureAlgorithmsFor, type PublicKey } from '../core/sshwire/keys.ts';
import { accountDisabledText, type LoginOutcome, type LoginService } from '../ops/identity/login.ts';
import { deviceFlowPrompt, type OidcLogin } from '../ops/identity/oidc-login.ts';
import { newcomerActor, unlinkedActor, type UnlinkedKey } from '../ops/identity/unlinked.ts';
import { DeviceFlowError } from '../ops/oidc/port.ts';
import { checkUserCertificate, type CertPolicy } from './cert-check.ts';

/** What a connection is allowed after it authenticated. */
export interface SessionGrant {
  actor: Actor;
  forceCommand?: string;
  permitPty: boolean;
  /**
   * When the credential the connection logged in with stops being valid (a certificate's
   * valid-before, a linked key's expiry): the server warns and then closes the connection.
   */
  credentialExpiresAt?: Date;
  /** What that credential is called in the warning and the closing message ("certificate", "linked key"). */
  credentialName?: string;
  /** The CA that signed the certificate the connection logged in with: the connection closes when labd stops trusting it. */
  caFingerprint?: string;
  /**
   * A proven key linked to nobody, where OIDC logins and anonymous git are both on: each session decides
   * (ops/identity/unlinked.ts) whether it runs as anonymous, as a newcomer, or after a device-flow login.
   */
  unlinked?: UnlinkedKey & { sshUser: string };
  /**
   * The key or certificate is a disabled account's: like sshd's nologin, the connection is let in only to
   * tell each session this (and end it); nothing runs.
   */
  refusal?: string;
}

/** The grant of a plain key that logged in (LoginService.byKey said ok). */
export function keyGrant(outcome: LoginOutcome & { ok: true }, fp: string, remoteIp: string): SessionGrant {
  return {
    actor: {
      userId: outcome.user.id,
      name: outcome.user.name,
      role: outcome.role,
      via: 'ssh',
      credential: { kind: 'key', fingerprint: fp },
      remoteAddress: remoteIp,
      principalRole: outcome.principalRole,
    },
    permitPty: true,
    // A linked key's session ends with its link (like a certificate's).
    credentialExpiresAt: outcome.validBefore,
    credentialName: outcome.validBefore ? 'linked key' : undefined,
  };
}

export interface AuthDeps {
  policy: () => CertPolicy;
  login: LoginService;
  log: Logger;
  metrics: Metrics;
  now: () => Date;
  maxTries: number;
  /** git.anonAccess allows keyless logins: keyboard-interactive without prompts, for git fetches only. */
  anonymousGit?: boolean;
  /** auth.oidc: a key labd does not know may be linked by a device-flow login (keyboard-interactive after it signed). */
  oidc?: OidcLogin;
}

/** A key that signed this connection's publickey attempt but belongs to nobody (yet). */
interface ProvenKey {
  fingerprint: string;
  algo: string;
  publicKey: string;
}

/**
 * Per-connection authenticator. Only a signed publickey attempt authenticates, and the user is
 * the key that signed: an unsigned query is answered (acceptable or not) but binds nobody.
 */
export class ConnectionAuth {
  private failures = 0;
  private attempts = 0;
  /** Set once the attempts are used up: the connection is ending and nothing more is evaluated. */
  private exhausted = false;
  grant: SessionGrant | undefined;
  /** Set once an unknown key proved possession (a signed attempt): the only key a device-flow login may link. */
  private proven: ProvenKey | undefined;
  /** A device flow in progress: aborted when the client goes away or sends another request. */
  private flowAbort: AbortController | undefined;
  /** The plain key of the last publickey attempt, parsed, with the SHA-256 fingerprint of its blob. */
  private lastKey: { fingerprint: string; key: PublicKey } | undefined;

  constructor(
    private readonly deps: AuthDeps,
    private readonly remoteIp: string,
    private readonly onTooMany: () => void,
    /** A device flow waits for the IdP until then: the connection's login grace time must last as long. */
    private readonly onWaiting: (until: Date) => void = () => undefined,
  ) {}

  /** The connection closed: a device flow still waiting stops polling. */
  close(): void {
    this.flowAbort?.abort();
  }

  /**
   * Attempts are evaluated one at a time, in the order they arrived: each waits for the one before
   * (the store answers asynchronously), so the failure count, `exhausted` and `proven` are those the
   * earlier attempts left. ssh2 lets an attempt be answered later.
   */
  private queue: Promise<void> = Promise.resolve();

  handle(ctx: AuthContext): void {
    this.queue = this.queue.then(
      () => this.evaluate(ctx),
      () => this.evaluate(ctx),
    );
  }

  private async evaluate(ctx: AuthContext): Promise<void> {
    try {
      // Requests the client sent before it saw the disconnect still arrive; none may succeed.
      if (this.exhausted) return ctx.reject([]);
      this.attempts++;
      // As sshd: a client's first `none` (asking which methods exist) is free; any later one is a
      // failed attempt, so a client cannot spin on `none` until the grace time runs out.
      if (ctx.method === 'none') {
        if (this.attempts === 1) return ctx.reject(this.methods());
        return this.refuse(ctx, 'none', 'repeated none', {});
      }
      if (ctx.method === 'keyboard-interactive' && this.proven && this.deps.oidc) return void this.deviceFlow(ctx, this.proven, this.deps.oidc);
      if (ctx.method === 'keyboard-interactive' && this.deps.anonymousGit) return this.anonymous(ctx);
      if (ctx.method !== 'publickey') return this.refuse(ctx, ctx.method, 'method not offered', {});
      const algo = ctx.key.algo;
      const blob = ctx.key.data;
      const signature = ctx.signature;
      const signed = signature !== undefined && ctx.blob !== undefined;
      if (isCertAlgorithm(algo)) {
        const check = checkUserCertificate(this.deps.policy(), {
          blob,
          requestedAlgo: algo,
          remoteIp: this.remoteIp,
          now: this.deps.now(),
          userSignature: signature,
          signedData: ctx.blob,
        });
        if (!check.ok) return this.refuse(ctx, 'cert', check.reason, { keyAlgo: algo });
        if (!signed) return ctx.accept();
        const cert = check.grant.cert;
        const outcome = await this.deps.login.byCertificate(cert.principals, ctx.username, this.deps.now());
        if (!outcome.ok && outcome.disabled)
          return this.disabledAccount(ctx, 'cert', outcome.disabled, { kind: 'key', fingerprint: fingerprint(cert.key.blob) });
        if (!outcome.ok) return this.refuse(ctx, 'cert', outcome.reason, { keyId: cert.keyId, serial: cert.serial.toString() });
        this.grant = {
          actor: {
            userId: outcome.user.id,
            name: outcome.user.name,
            role: outcome.role,
            via: 'ssh',
            credential: {
              kind: 'cert',
              keyId: cert.keyId,
              serial: cert.serial.toString(),
              principal: outcome.principal ?? '',
              keyFingerprint: fingerprint(cert.key.blob),
              publicKey: formatPublicKey(cert.key),
            },
            remoteAddress: this.remoteIp,
            principalRole: outcome.principalRole,
          },
          forceCommand: check.grant.forceCommand,
          permitPty: check.grant.permitPty,
          credentialExpiresAt: check.grant.validBefore,
          credentialName: 'certificate',
          caFingerprint: check.grant.caFingerprint,
        };
        this.deps.metrics.authAttempts.inc({ method: 'cert', result: 'accepted' });
        this.deps.log.info(
          {
            user: outcome.user.name,
            role: outcome.role,
            keyId: cert.keyId,
            serial: cert.serial.toString(),
            ca: check.grant.caFingerprint,
            remote: this.remoteIp,
          },
          'accepted certificate',
        );
        return ctx.accept();
      }
      const fp = fingerprint(blob);
      let key: PublicKey;
      try {
        // OpenSSH asks whether a key is acceptable, then sends the same key signed: parsed once. Matched
        // by the fingerprint taken when it was parsed, never by a buffer ssh2 might hand out again.
        key = this.lastKey?.fingerprint === fp ? this.lastKey.key : parsePublicKeyBlob(blob);
      } catch (err) {
        return this.refuse(ctx, 'key', `unsupported key: ${(err as Error).message}`, {});
      }
      this.lastKey = { fingerprint: fp, key };
      // ssh2 reports rsa-sha2-256/512 as ssh-rsa with ctx.hashAlgo; any other name must be the key's type.
      if (algo !== key.type) return this.refuse(ctx, 'key', `algorithm ${algo.slice(0, 60)} does not match the key (${key.type})`, { fingerprint: fp });
      const sigAlgo =
        key.type === 'ssh-rsa'
          ? ctx.hashAlgo === 'sha512'
            ? 'rsa-sha2-512'
            : ctx.hashAlgo === 'sha256'
              ? 'rsa-sha2-256'
              : undefined
          : signatureAlgorithmsFor(key)[0];
      // Answered on the query too, so a client is not told "acceptable" for a signature it may not use.
      if (!sigAlgo) return this.refuse(ctx, 'key', 'ssh-rsa (SHA-1) signatures are not accepted', { fingerprint: fp });
      if (!signed) {
        const refusal = await this.deps.login.keyRefusal(fp, ctx.username, this.deps.now());
        if (!refusal) return ctx.accept();
        // With OIDC logins on, an unknown key is asked to sign: only a signature proves the client holds it.
        // The query itself binds and links nothing (design §4).
        if (refusal === 'unknown key' && this.deps.oidc && !this.proven) return ctx.accept();
        return this.refuse(ctx, 'key', refusal, { fingerprint: fp });
      }
      // ssh2 strips the signature's algorithm wrapper for plain keys; rebuild what was signed with.
      const wrapped = wrapSignature(sigAlgo, key.type.startsWith('ecdsa-') ? derToSshEcdsa(signature!) : signature!);
      if (!verifySshSignature(key, wrapped, ctx.blob!, sigAlgo)) return this.refuse(ctx, 'key', 'signature does not verify', { fingerprint: fp });
      const outcome = await this.deps.login.byKey(fp, ctx.username, this.deps.now());
      // An unknown key that proved possession: with OIDC and anonymous git both on, it comes in at once
      // and each session decides (git as anonymous, join as a newcomer, the rest after a device-flow login
      // in the session); with OIDC alone, the device-flow login on keyboard-interactive (an invite can
      // still be used after it: `join CODE`); without it, or when the lab signs up by invite only, the
      // newcomer path (only `join` and `help`) while an invite is open.
      const joinable = !outcome.ok && (await this.deps.login.mayJoin(fp));
      const publicKey = `${key.type} ${blob.toString('base64')}`;
      if (!outcome.ok && outcome.unknownKey && this.deps.oidc && this.deps.anonymousGit)
        // Both on: no keyboard-interactive (a git command never waits on a device-code prompt); each session decides.
        return this.unlinked(ctx, { fingerprint: fp, algo: key.type, publicKey });
      if (!outcome.ok && outcome.unknownKey && this.deps.oidc && !this.proven && !(joinable && this.deps.login.signupPolicy === 'invite')) {
        // Proven, unknown: partial success, and keyboard-interactive carries the device-flow login.
        this.proven = { fingerprint: fp, algo: key.type, publicKey: formatPublicKey(key) };
        this.deps.metrics.authAttempts.inc({ method: 'key', result: 'partial' });
        this.deps.log.info({ fingerprint: fp, remote: this.remoteIp, user: ctx.username }, 'unknown key proved possession: offering an OIDC login');
        return ctx.reject(['keyboard-interactive'], true);
      }
      if (joinable) return this.newcomer(ctx, { fingerprint: fp, algo: key.type, publicKey });
      if (!outcome.ok && outcome.disabled) return this.disabledAccount(ctx, 'key', outcome.disabled, { kind: 'key', fingerprint: fp });
      if (!outcome.ok) return this.refuse(ctx, 'key', outcome.reason, { fingerprint: fp });
      this.grant = keyGrant(outcome, fp, this.remoteIp);
      this.deps.metrics.authAttempts.inc({ method: 'key', result: 'accepted' });
      this.deps.log.info({ user: outcome.user.name, fingerprint: fp, remote: this.remoteIp }, 'accepted key');
      ctx.accept();
    } catch (err) {
      this.deps.log.error({ err }, 'authentication handler failed');
      try {
        this.refuse(ctx, 'error', 'internal error', {});
      } catch (e) {
        // The connection went away while the attempt was evaluated: there is nobody to answer.
        this.deps.log.warn({ err: e }, 'could not answer an authentication attempt');
      }
    }
  }

  /**
   * The device-flow login on keyboard-interactive, for the key this connection proved it holds: the
   * instructions (URL, code, QR) go out as an info request without prompts, which OpenSSH prints; labd
   * then polls the IdP and answers once it confirmed (or denied, or the code expired), with one more
   * info request saying what happened.
   */
  private async deviceFlow(ctx: AuthContext & { method: 'keyboard-interactive' }, key: ProvenKey, oidc: OidcLogin): Promise<void> {
    this.flowAbort?.abort();
    const abort = new AbortController();
    this.flowAbort = abort;
    // Another request from the client abandons this one (RFC 4252); ssh2 says so with 'abort'.
    ctx.on('abort', () => abort.abort());
    // An info request without prompts: OpenSSH prints it (see deviceFlowPrompt for what it allows) and answers at once.
    const say = (text: string, title = 'labd') =>
      new Promise<void>((resolve) => {
        if (abort.signal.aborted) return resolve();
        ctx.prompt([], title, text, () => resolve());
      });
    let release = () => {};
    try {
      const started = await oidc.start(this.remoteIp, abort.signal);
      release = started.release;
      const { authorization } = started.flow;
      this.onWaiting(authorization.expiresAt);
      this.deps.log.info({ fingerprint: key.fingerprint, remote: this.remoteIp, until: authorization.expiresAt }, 'OIDC device flow started');
      const prompt = deviceFlowPrompt(authorization, { keyFingerprint: key.fingerprint, now: this.deps.now() });
      await say(prompt.instructions);
      for (const chunk of prompt.qrChunks) await say(chunk, '');
      await say(prompt.waiting, '');
      const claims = await started.flow.wait(abort.signal);
      const outcome = await oidc.link(claims, key, { surface: 'ssh', remoteAddress: this.remoteIp });
      if (abort.signal.aborted) return;
      if (!outcome.ok) return await this.endFlow(ctx, say, `login refused: ${outcome.reason}`);
      this.grant = {
        actor: {
          userId: outcome.user.id,
          name: outcome.user.name,
          role: outcome.role,
          via: 'ssh',
          credential: { kind: 'key', fingerprint: key.fingerprint },
          remoteAddress: this.remoteIp,
          principalRole: outcome.groupRole,
        },
        permitPty: true,
        credentialExpiresAt: outcome.expiresAt,
        credentialName: 'linked key',
      };
      await say(
        `Logged in as ${outcome.user.name} (${outcome.role})${outcome.created ? ', a new account' : ''}. This key is linked until ${outcome.expiresAt.toISOString()}.`,
      );
      if (abort.signal.aborted) return;
      this.deps.metrics.authAttempts.inc({ method: 'oidc', result: 'accepted' });
      ctx.accept();
    } catch (err) {
      if (abort.signal.aborted) return;
      if (!(err instanceof DeviceFlowError)) {
        this.deps.log.error({ err }, 'OIDC login failed');
        return await this.endFlow(ctx, say, 'login failed: internal error');
      }
      this.deps.log.info({ fingerprint: key.fingerprint, remote: this.remoteIp, reason: err.reason }, 'OIDC device flow ended without a login');
      await this.endFlow(ctx, say, `login failed: ${err.message}`);
    } finally {
      release();
    }
  }

  /** Tells the client why, then ends the attempt and the connection (the key stays unlinked). */
  private async endFlow(ctx: AuthContext, say: (text: string) => Promise<void>, message: string): Promise<void> {
    await say(message);
    this.deps.metrics.authAttempts.inc({ method: 'oidc', result: 'rejected' });
    this.exhausted = true;
    ctx.reject([]);
    this.onTooMany();
  }

  /** Offered methods: keys first, so OpenSSH clients still try theirs before the keyless login. */
  private methods(): AuthenticationType[] {
    return this.deps.anonymousGit ? ['publickey', 'keyboard-interactive'] : ['publickey'];
  }

  /**
   * soft-serve's allow-keyless: a keyboard-interactive login that asks nothing. The actor is
   * anonymous; the registry offers it only the git fetch commands and the SSH front-end no terminal.
   */
  private anonymous(ctx: AuthContext): void {
    this.grant = {
      actor: { userId: null, name: 'anonymous', role: 'guest', via: 'ssh', credential: { kind: 'anonymous' }, remoteAddress: this.remoteIp },
      permitPty: false,
    };
    this.deps.metrics.authAttempts.inc({ method: 'anonymous', result: 'accepted' });
    this.deps.log.info({ remote: this.remoteIp, user: ctx.username }, 'accepted keyless login (git fetch only)');
    ctx.accept();
  }

  /** A proven key that belongs to nobody, where the sign-up policy lets people join: it may run `join` (and `help`) only. */
  private newcomer(ctx: AuthContext, key: UnlinkedKey): void {
    this.grant = { actor: newcomerActor(key, this.remoteIp, ctx.username), permitPty: true };
    this.deps.metrics.authAttempts.inc({ method: 'key', result: 'newcomer' });
    this.deps.log.info({ fingerprint: key.fingerprint, remote: this.remoteIp, user: ctx.username }, 'accepted an unknown key as a newcomer (join only)');
    ctx.accept();
  }

  /**
   * A proven key linked to nobody where OIDC logins and anonymous git are both on: it comes in at once;
   * git fetches run as anonymous, `join` as a newcomer, anything else after a device-flow login in the session.
   */
  private unlinked(ctx: AuthContext, key: UnlinkedKey): void {
    this.grant = { actor: unlinkedActor(key, this.remoteIp), permitPty: true, unlinked: { ...key, sshUser: ctx.username } };
    this.deps.metrics.authAttempts.inc({ method: 'key', result: 'unlinked' });
    this.deps.log.info(
      { fingerprint: key.fingerprint, remote: this.remoteIp, user: ctx.username },
      'accepted an unlinked key (git fetches as anonymous; other sessions log in with OIDC first)',
    );
    ctx.accept();
  }

  /**
   * A proven credential of a disabled account: let in to be told "account disabled" by each session (a
   * refused key would leave OpenSSH to say only "Permission denied", or to fall back to the keyless
   * login and its "without a key" answers). The actor is kept for the log; the sessions run nothing.
   */
  private disabledAccount(ctx: AuthContext, method: string, user: { id: number; name: string }, credential: { kind: 'key'; fingerprint: string }): void {
    this.grant = {
      actor: { userId: user.id, name: user.name, role: 'guest', via: 'ssh', credential, remoteAddress: this.remoteIp },
      permitPty: true,
      refusal: accountDisabledText(),
    };
    this.deps.metrics.authAttempts.inc({ method, result: 'disabled' });
    this.deps.log.info({ user: user.name, ...credential, remote: this.remoteIp }, "a disabled account's key logged in: its sessions are told so and end");
    ctx.accept();
  }

  /** Rejects and counts a failed attempt (as sshd, every attempt but a first `none` counts). */
  private refuse(ctx: AuthContext, method: string, reason: string, fields: Record<string, unknown>): void {
    this.failures++;
    this.deps.metrics.authAttempts.inc({ method, result: 'rejected' });
    this.deps.log.info({ ...fields, remote: this.remoteIp, user: ctx.username, reason }, `refused ${ctx.method}`);
    ctx.reject(this.methods());
    if (this.failures >= this.deps.maxTries) {
      this.exhausted = true;
      this.deps.log.info({ remote: this.remoteIp, user: ctx.username, failures: this.failures }, 'too many authentication failures');
      this.onTooMany();
    }
  }
}

function wrapSignature(algo: string, sig: Buffer): Buffer {
  const a = Buffer.from(algo);
  const out = Buffer.alloc(8 + a.length + sig.length);
  out.writeUInt32BE(a.length, 0);
  a.copy(out, 4);
  out.writeUInt32BE(sig.length, 4 + a.length);
  sig.copy(out, 8 + a.length);
  return out;
}

/** ssh2 hands plain ECDSA signatures over as DER; turn them back into SSH's (mpint r, mpint s). */
function derToSshEcdsa(der: Buffer): Buffer {
  let i = 2;
  if (der[1]! & 0x80) i += der[1]! & 0x7f;
  const readInt = () => {
    if (der[i] !== 0x02) throw new Error('bad DER');
    let len = der[i + 1]!;
    let start = i + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = der.readUIntBE(i + 2, n);
      start = i + 2 + n;
    }
    i = start + len;
    return der.subarray(start, start + len);
  };
  const r = readInt();
  const s = readInt();
  const parts: Buffer[] = [];
  for (const v of [r, s]) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v.length);
    parts.push(len, v);
  }
  return Buffer.concat(parts);
}
