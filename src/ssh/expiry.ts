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
 */
export function watchExpiry(o: {
  expiresAt: Date;
  credentialName: string;
  now: () => Date;
  onExpired: (reason: string, closing: Promise<void>) => void;
}): ExpiryWatch {
  const sessions = new Set<ExpiringSession>();
  const warning = expiryWarning(o.credentialName, o.expiresAt);
  let warned = false;
  let done = false;
  const warnTimer = at(new Date(o.expiresAt.getTime() - EXPIRY_WARNING_MS), o.now, () => {
    warned = true;
    for (const s of sessions) s.warn(warning);
  });
  const endTimer = at(o.expiresAt, o.now, () => {
    done = true;
    const reason = expiryReason(o.credentialName, o.expiresAt);
    const closing = Promise.all([...sessions].map((s) => s.expire(reason).catch(() => undefined))).then(() => undefined);
    o.onExpired(reason, closing);
  });
  return {
    add(session) {
      if (done) {
        void session.expire(expiryReason(o.credentialName, o.expiresAt));
        return () => undefined;
      }
      sessions.add(session);
      if (warned) session.warn(warning);
      return () => sessions.delete(session);
    },
    cancel() {
      warnTimer.clear();
      endTimer.clear();
      sessions.clear();
    },
  };
}
