import { randomBytes } from 'node:crypto';
import { UsageError } from '../../core/errors.ts';

/** Letters, digits, dot, dash, underscore; no leading dot or dash (no `..`, no dotfiles, nothing like a flag), no slashes. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** Names people choose; hidden pastes add a 25-character secret in front. */
const MAX_CHOSEN = 100;
const USER = /^[a-z][a-z0-9_-]{0,31}$/;

/** Words taken by `paste ls|cat|rm`: a paste with such a name could never be addressed. */
const RESERVED = new Set(['ls', 'cat', 'rm']);

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

function randomWord(length: number): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join('');
}

export function isPasteName(name: string): boolean {
  return NAME.test(name) && !name.includes('..') && !RESERVED.has(name);
}

export function checkPasteName(name: string, chosen = false): string {
  if (!isPasteName(name) || (chosen && name.length > MAX_CHOSEN)) {
    const shown = JSON.stringify(name.slice(0, 40)).slice(1, -1);
    throw new UsageError(`bad paste name '${shown}': use up to 100 letters, digits, '.', '-' or '_', not starting with '.' or '-' (and not ls, cat or rm)`);
  }
  return name;
}

export function isUserName(name: string): boolean {
  return USER.test(name);
}

/** A short readable name for a paste uploaded without one. */
export function generatedName(): string {
  return randomWord(8);
}

/** An unguessable name (about 120 bits) for a hidden paste; keeps the given name as a suffix for its extension. */
export function hiddenName(base: string | undefined): string {
  const secret = randomWord(24);
  return base ? `${secret}-${base}` : secret;
}

/** Splits `NAME` or `USER/NAME` (a reference to someone else's paste). */
export function parsePasteRef(ref: string, self: string): { user: string; name: string } {
  const slash = ref.indexOf('/');
  if (slash === -1) return { user: self, name: checkPasteName(ref) };
  const user = ref.slice(0, slash);
  if (!isUserName(user)) throw new UsageError(`bad user name in '${JSON.stringify(ref.slice(0, 40)).slice(1, -1)}'`);
  return { user, name: checkPasteName(ref.slice(slash + 1)) };
}

/** The extension that picks the highlighting language ('' when none). */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}
