import type { Actor } from '../core/actor.ts';
import { errorKind, publicMessage, UsageError, type ErrorKind } from '../core/errors.ts';
import type { SessionIO } from '../ops/context.ts';
import { splitGlobalFlags, UnknownCommand, type Registry } from '../ops/registry.ts';
import { splitCommandLine } from '../core/cmdline.ts';
import { stripControl } from '../core/terminal-text.ts';
import { renderJson, renderText } from './render.ts';

/** Exit statuses of `ssh HOST COMMAND` (design §2.1). */
export const EXIT_CODES: Record<ErrorKind, number> = { usage: 2, permission: 3, not_found: 4, failed: 1, conflict: 1, unavailable: 1 };

/** Runs one exec command line through the registry and renders it; returns the exit status. */
export async function runExecCommand(registry: Registry, actor: Actor, commandLine: string, io: SessionIO, signal: AbortSignal): Promise<number> {
  try {
    const argv = splitCommandLine(commandLine);
    const json = splitGlobalFlags(argv).flags.json;
    const { result } = await registry.execute({
      actor,
      argv,
      confirmed: false,
      io,
      signal,
      onProgress: (message) => io.stderr.write(stripControl(message) + '\n'),
    });
    // A streamed result already is the output: nothing may follow it (`paste cat`, `sub`).
    const out = result.kind === 'streamed' ? '' : json ? renderJson(result) : renderText(result);
    // With a terminal the client's tty is raw and no pty here turns \n into \r\n (as sshd's would).
    if (out) await write(io, io.isTerminal ? out.replace(/\n/g, '\r\n') : out);
    // A git service's own status reaches the client as sshd would pass it on.
    return result.kind === 'streamed' ? (result.exitStatus ?? 0) : 0;
  } catch (err) {
    const kind = errorKind(err);
    let message = publicMessage(err);
    if (err instanceof UsageError && err.commandPath) message += ` (see '${err.commandPath.join(' ')} --help')`;
    if (err instanceof UnknownCommand && !message.includes('did you mean')) message += " (try 'help')";
    io.stderr.write(`error: ${stripControl(message).replace(/\n/g, ' ')}\n`);
    return EXIT_CODES[kind];
  }
}

function write(io: SessionIO, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (io.stdout.write(text)) resolve();
    else io.stdout.once('drain', () => resolve());
  });
}
