/**
 * A key that proved possession but is linked to nobody, on a lab where OIDC logins and anonymous git
 * are both on (issue #12: a git command never waits on a device-code prompt). Such a key logs in
 * without keyboard-interactive; what its session runs as is decided per command:
 * - a command anonymous people may run (git clone and fetch), or any of git's transport commands: as
 *   anonymous, at once (a push is then refused, or allowed where git.anonAccess says read-write);
 * - a sign-up command (`join`, `help`) where the key may join: as a newcomer;
 * - anything else (another command, the terminal UI): the device-flow login first, in the session
 *   (OidcLogin.login, as the `login` command runs it), then as the user the key is now linked to.
 */
import type { Actor } from '../../core/actor.ts';
import { splitCommandLine } from '../../core/cmdline.ts';
import { splitGlobalFlags, type Registry } from '../registry.ts';

/** The proven key, as the SSH door saw it sign. */
export interface UnlinkedKey {
  fingerprint: string;
  algo: string;
  /** A public key line (type and base64). */
  publicKey: string;
}

export type UnlinkedRoute =
  | { kind: 'anonymous'; actor: Actor }
  | { kind: 'newcomer'; actor: Actor }
  /** `then`: run the command (or open the terminal UI) once linked; false for `login` itself, which the link already was. */
  | { kind: 'login'; then: boolean };

/** The actor of such a key before it is linked: anonymous, with the key in its credential (the audit log names it). */
export function unlinkedActor(key: UnlinkedKey, remoteAddress: string | undefined): Actor {
  return { userId: null, name: 'anonymous', role: 'guest', via: 'ssh', credential: { kind: 'anonymous', fingerprint: key.fingerprint }, remoteAddress };
}

/** The same key as a newcomer (it may sign up with `join`). */
export function newcomerActor(key: UnlinkedKey, remoteAddress: string | undefined, loginName?: string): Actor {
  return {
    userId: null,
    name: 'newcomer',
    role: 'guest',
    via: 'ssh',
    credential: { kind: 'newcomer', fingerprint: key.fingerprint, publicKey: key.publicKey, ...(loginName !== undefined ? { loginName } : {}) },
    remoteAddress,
  };
}

/**
 * What a session of an unlinked key runs as. `commandLine` undefined: a shell (the terminal UI).
 * `mayJoin`: the sign-up policy lets this key join now (LoginService.mayJoin).
 */
export function unlinkedRoute(
  registry: Registry,
  key: UnlinkedKey,
  o: { commandLine: string | undefined; mayJoin: boolean; remoteAddress?: string; loginName?: string },
): UnlinkedRoute {
  if (o.commandLine === undefined) return { kind: 'login', then: true };
  let words: string[];
  try {
    words = splitGlobalFlags(splitCommandLine(o.commandLine)).rest;
  } catch {
    // A line that does not even split: the registry says why, to whoever may run commands.
    return { kind: 'login', then: true };
  }
  const found = registry.resolve(words)?.command;
  const anonymous = unlinkedActor(key, o.remoteAddress);
  // git's own commands never wait on a login prompt: as anonymous, whatever the registry then allows.
  if (found && (found.protocol || registry.allowed(anonymous, found))) return { kind: 'anonymous', actor: anonymous };
  const newcomer = newcomerActor(key, o.remoteAddress, o.loginName);
  if (found && o.mayJoin && registry.allowed(newcomer, found)) return { kind: 'newcomer', actor: newcomer };
  if (found?.path.join(' ') === 'login') return { kind: 'login', then: false };
  return { kind: 'login', then: true };
}
