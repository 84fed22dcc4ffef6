/**
 * Sessions end with their credentials (Teleport's disconnect_expired_cert): a connection that
 * logged in with a credential that expires (a certificate's valid-before, a linked key's expiry)
 * is warned a minute before and closed when it expires, every session on it told why.
 */

/** How long before the expiry open sessions are warned (at once when less remains at login). */
export const EXPIRY_WARNING_MS = 60_000;
/** setTimeout's longest delay; longer waits are made of several. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One open session on the connection, as the expiry sees it. */
export interface ExpiringSession {
  /** Shown a minute before the end (the TUI's status line, an exec command's stderr). */
  warn(text: string): void;
  /** Ends the session with `reason`; resolves when it has closed (or cannot say more). */
  expire(reason: string): Promise<void>;
}

export interface ExpiryWatch {
  /** Registers a session: warned at once when the warning time has passed. Returns its removal. */
  add(session: ExpiringSession): () => void;
  /** Ends every session now with `reason` (the credential stopped being trusted); resolves when they closed. No timer fires after. */
  end(reason: string): Promise<void>;
  cancel(): void;
}

/** "2026-11-30 20:40:00 UTC" */
function formatTime(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d{3}Z$/, ' UTC')
    .replace('T', ' ');
}

/** Short enough for an 80-column status line: it is shown within the last minute, so the time of day says when. */
export function expiryWarning(credentialName: string, expiresAt: Date): string {
  return `your ${credentialName} expires at ${formatTime(expiresAt).slice(11)}: this session closes then`;
}

export function expiryReason(credentialName: string, expiresAt: Date): string {
  return `your ${credentialName} expired at ${formatTime(expiresAt)}: session closed; log in again with a fresh one`;
}

/** A timer to an absolute time, however far (chained setTimeouts). */
function at(when: Date, now: () => Date, fn: () => void): { clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const ms = when.getTime() - now().getTime();
    if (ms <= 0) return fn();
    timer = setTimeout(arm, Math.min(ms, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return { clear: () => clearTimeout(timer) };
}

/**
 * Watches one connection's credential: warns its sessions EXPIRY_WARNING_MS before `expiresAt`,
 * then expires them all and calls `onExpired` (which logs, audits and ends the connection).
 * `renewed`: the credential's expiry as it stands now (a linked key that `login` linked again lasts
 * longer; null: it no longer expires): asked before warning and before closing, so an open connection
 * follows the renewal instead of closing at the old time.
 */
export function watchExpiry(o: {
  /** undefined: the credential does not expire (the watch only holds the sessions, for `end`). */
  expiresAt: Date | undefined;
  credentialName: string;
  now: () => Date;
  onExpired: (reason: string, closing: Promise<void>, expiredAt: Date) => void;
  renewed?: () => Promise<Date | null | undefined> | Date | null | undefined;
  onRenewed?: (expiresAt: Date | null) => void;
}): ExpiryWatch {
  const sessions = new Set<ExpiringSession>();
  let expiresAt = o.expiresAt ?? new Date(8.64e15);
  let doneReason: string | undefined;
  let warned = false;
  let done = false;
  let cancelled = false;
  let timers: { clear(): void }[] = [];
  /** True when the credential now lasts longer (the timers were armed again, or stopped for good). */
  const checkRenewal = async (): Promise<boolean> => {
    if (!o.renewed) return false;
    let now: Date | null | undefined;
    try {
      now = await o.renewed();
    } catch {
      return false;
    }
    if (cancelled || done || now === undefined || (now !== null && now.getTime() <= expiresAt.getTime())) return false;
    for (const t of timers) t.clear();
    timers = [];
    warned = false;
    o.onRenewed?.(now);
    if (now === null) return true;
    expiresAt = now;
    const text = `your ${o.credentialName} was renewed: this session lasts until ${formatTime(now).slice(11)}`;
    for (const s of sessions) s.warn(text);
    arm();
    return true;
  };
  const arm = () => {
    if (!o.expiresAt) return;
    timers = [
      at(new Date(expiresAt.getTime() - EXPIRY_WARNING_MS), o.now, () => {
        void checkRenewal().then((renewed) => {
          if (renewed || cancelled || done) return;
          warned = true;
          const warning = expiryWarning(o.credentialName, expiresAt);
          for (const s of sessions) s.warn(warning);
        });
      }),
      at(expiresAt, o.now, () => {
        void checkRenewal().then((renewed) => {
          if (renewed || cancelled || done) return;
          done = true;
          const reason = expiryReason(o.credentialName, expiresAt);
          doneReason = reason;
          const closing = Promise.all([...sessions].map((s) => s.expire(reason).catch(() => undefined))).then(() => undefined);
          o.onExpired(reason, closing, expiresAt);
        });
      }),
    ];
  };
  arm();
  return {
    add(session) {
      if (done) {
        void session.expire(doneReason ?? expiryReason(o.credentialName, expiresAt));
        return () => undefined;
      }
      sessions.add(session);
      if (warned) session.warn(expiryWarning(o.credentialName, expiresAt));
      return () => sessions.delete(session);
    },
    end(reason) {
      if (done) return Promise.resolve();
      done = true;
      doneReason = reason;
      for (const t of timers) t.clear();
      return Promise.all([...sessions].map((s) => s.expire(reason).catch(() => undefined))).then(() => undefined);
    },
    cancel() {
      cancelled = true;
      for (const t of timers) t.clear();
      sessions.clear();
    },
  };
}
