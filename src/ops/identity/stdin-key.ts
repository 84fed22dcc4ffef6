/**
 * Public keys arrive on stdin (`user add carol < carol.pub`, `keys add < key.pub`): over SSH the
 * client joins its arguments and labd splits them again, so a key given as a quoted argument
 * would arrive as three words.
 */
import { UsageError } from '../../core/errors.ts';
import { fingerprint, formatPublicKey, parsePublicKeyLine } from '../../core/sshwire/keys.ts';
import type { CommandContext } from '../context.ts';
import { readLimited } from '../stdin.ts';

export const KEY_INPUT_LIMIT = 16 * 1024;
/** Nothing on stdin this long: the user is probably at a terminal; say what labd waits for. */
const HINT_AFTER_MS = 2000;

export interface KeyToAdd {
  fingerprint: string;
  algo: string;
  publicKey: string;
  comment: string;
}

/** Parses the one public key line of a text (blank lines and # comments ignored); undefined when there is none. */
export function parseKeyText(text: string, what: string): KeyToAdd | undefined {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() && !l.trim().startsWith('#'));
  if (lines.length === 0) return undefined;
  if (lines.length > 1) throw new UsageError(`${what}: give one public key at a time`);
  let parsed;
  try {
    parsed = parsePublicKeyLine(lines[0]!.trim());
  } catch (err) {
    throw new UsageError(`${what}: not a public key: ${(err as Error).message}`);
  }
  return {
    fingerprint: fingerprint(parsed.key.blob),
    algo: parsed.key.type,
    publicKey: formatPublicKey(parsed.key),
    comment: parsed.comment.replace(/[^\x20-\x7e]/g, '').slice(0, 100),
  };
}

/**
 * Reads stdin for a key line. Returns '' where the session has no stdin to read (Matrix, the TUI's
 * terminal). A client at a terminal that sends nothing is told, once, what labd is waiting for.
 */
export async function readKeyInput(ctx: CommandContext): Promise<string> {
  const io = ctx.io;
  if (!io || io.isTerminal) return '';
  const hint = setTimeout(() => io.stderr.write('reading a public key from stdin (end with Ctrl-D; give none with < /dev/null)\n'), HINT_AFTER_MS);
  const stop = () => clearTimeout(hint);
  io.stdin.once('data', stop);
  try {
    return (await readLimited(io.stdin, KEY_INPUT_LIMIT, ctx.signal)).toString('utf8');
  } finally {
    stop();
    io.stdin.off('data', stop);
  }
}
